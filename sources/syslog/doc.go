// Package syslog is the syslog_sources input: a listener for syslog over TCP (RFC 6587: octet counting or
// newline framing, told apart by each connection's first byte), UDP (RFC 5426: one message per datagram) and TLS
// (RFC 5425), parsing RFC 5424 and RFC 3164 messages into events.
//
// An event's message is the MSG part; its members are syslog.{priority,facility,facility_label,severity,
// severity_label,appname,procid,msgid,sequence,structured_data}, host.hostname and source.{address,port} (the
// peer), each only when the message has it (structured data of more than 128 parameters as its text in
// syslog.structured_data_raw). @timestamp is the message's own time (RFC 3164's year-less times are this year
// unless more than 31 days ahead of the read time, then last year), else the read time. A frame that does not parse is
// shipped whole with error.message; a TCP frame longer than max_message_bytes is cut there and flagged
// (log.flags: ["truncated"]), the rest of it discarded.
//
// The parsers are written here rather than taken from github.com/leodido/go-syslog/v4 (v4.6.0, the maintained
// continuation of influxdata/go-syslog), measured on this project's shared 2-core machine with the messages of
// bench_test.go: the library's RFC 5424 parser took 1.5 to 2.3 µs and 18 allocations per message (its result
// is pointers to strings and a map of maps), its RFC 3164 parser 0.6 to 0.9 µs and 7 allocations, before any
// rendering. These take 0.13 to 0.22 µs (RFC 5424) and 0.09 to 0.12 µs (RFC 3164), 0.36 and 0.17 to 0.19 µs
// with the event's JSON members rendered, without allocating (the fields alias the frame); the whole path of a
// message into an event (BenchmarkEvents: parse, members, id, written into the arena) 0.4 to 0.8 µs, its only
// allocations the arenas. The library's RFC 3164 parser also needs to be told which Cisco fields a device
// sends; this one recognises them.
//
// Caveats:
//   - TCP syslog has no acknowledgement: a sender counts a message delivered once its socket took it. A crash
//     (kill -9, OOM, node loss) of flicker loses what it held and the sender had let go of: bytes in the
//     kernel's socket buffers, frames read but not yet published, and events in the queue that no output has
//     accepted yet (there are no positions to resume from). A clean stop closes the connections (what they had
//     not read yet is lost too), queues what was read for up to 2 seconds (the rest counted as dropped at
//     shutdown) and drains the queue. Use the HTTP source where delivery must be guaranteed: it
//     answers only once every output has the events.
//   - UDP is lossy by design: datagrams the kernel drops are not seen; those flicker drops are counted
//     (oversized, or the queue full for longer than 4096 datagrams or 4 MiB take to arrive).
//   - While the pipeline's queue is full a TCP connection is not read (backpressure reaches the sender as
//     stalled writes). A connection holds a read buffer (4 KiB, growing to hold a whole frame of
//     max_message_bytes, or to 64 KiB for a busy sender), the arena its events are written into (4 KiB,
//     doubling to 64 KiB) and up to 1024 events being built, plus the arenas of its events not yet
//     acknowledged; once quiet it lets the larger buffer and arena go. max_connections bounds how many.
//   - Event ids are per connection (a seed of the input, the peer and the accept time, and the message's
//     number in the connection): unique, but a message sent again on a new connection gets a new id.
//   - In RFC 3164 the word after the time is taken as the host name unless it ends with ':' or holds bytes no
//     host name has, so a message "Oct 11 22:14:15 Hello world" reads Hello as its host, as rsyslog does.
//   - Feb 29 without a year is a time only when a leap year is among last, this and next year.
package syslog
