package loadgen

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// Payload is what the senders send, generated once before a run: chunks of whole events (an HTTP request body,
// or the bytes of one TCP write) that the senders take in turn, starting over at the first when a budget asks
// for more than the payload holds.
type Payload struct {
	Chunks [][]byte
	Events []int64 // events in each chunk
	bytes  []int64 // bytes before each chunk, and the whole payload's at the end
}

// Bytes is the size of all chunks.
func (p Payload) Bytes() int64 { return p.bytes[len(p.bytes)-1] }

// at returns the chunk a sender takes as the i-th (counting from 0 over all senders) and the payload bytes
// sent before it.
func (p Payload) at(i int64) (chunk []byte, events, before int64) {
	n := int64(len(p.Chunks))
	k := i % n
	return p.Chunks[k], p.Events[k], (i/n)*p.Bytes() + p.bytes[k]
}

// build splits what appendEvent writes into chunks of about chunkBytes (at least one event each) until they
// hold total bytes.
func build(total int64, chunkBytes int, appendEvent func(dst []byte) []byte) Payload {
	p := Payload{bytes: []int64{0}}
	var sum int64
	for sum < total || len(p.Chunks) == 0 {
		chunk := make([]byte, 0, chunkBytes+512)
		var events int64
		for len(chunk) < chunkBytes || events == 0 {
			chunk = appendEvent(chunk)
			events++
		}
		sum += int64(len(chunk))
		p.Chunks, p.Events, p.bytes = append(p.Chunks, chunk), append(p.Events, events), append(p.bytes, sum)
	}
	return p
}

// NDJSON builds request bodies of about bodyBytes each, total bytes in all: one `{"message":"<line>"}` line per
// event, the lines taken from next (without their newline; the slice may be reused by next's following call).
func NDJSON(next func() []byte, bodyBytes int, total int64) Payload {
	return build(total, bodyBytes, func(dst []byte) []byte {
		dst = append(dst, `{"message":`...)
		dst = appendJSONString(dst, next())
		return append(dst, "}\n"...)
	})
}

func appendJSONString(dst, s []byte) []byte {
	if bytes.IndexFunc(s, func(r rune) bool { return r == '"' || r == '\\' || r < 0x20 || r > 0x7e }) < 0 {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	b, _ := json.Marshal(string(s)) // cannot fail for a string
	return append(dst, b...)
}

// Framing is how syslog messages are delimited on a TCP stream (RFC 6587).
type Framing int

const (
	// OctetCounted precedes each message with its length and a space: "123 <134>1 ...".
	OctetCounted Framing = iota
	// NewlineFramed ends each message with a newline (non-transparent framing).
	NewlineFramed
)

func (f Framing) String() string {
	if f == NewlineFramed {
		return "newline"
	}
	return "octet-counted"
}

// Syslog builds TCP writes of about chunkBytes each, total bytes in all, of RFC 5424 messages framed as framing
// says, one per line of next:
//
//	<134>1 2026-11-21T10:00:00.123456Z web-7 shop 4242 access [bench@32473 seq="17"] <line>
//
// The timestamp is the line's first field when it is an RFC 3339 time (as the plain log's lines start), the
// hostname its host=, and the message the whole line; lines that hold neither get "-" there.
func Syslog(next func() []byte, framing Framing, chunkBytes int, total int64) Payload {
	var seq int64
	var msg []byte
	return build(total, chunkBytes, func(dst []byte) []byte {
		line := next()
		msg = appendRFC5424(msg[:0], line, seq)
		seq++
		if framing == NewlineFramed {
			dst = append(dst, msg...)
			return append(dst, '\n')
		}
		dst = strconv.AppendInt(dst, int64(len(msg)), 10)
		dst = append(dst, ' ')
		return append(dst, msg...)
	})
}

func appendRFC5424(dst, line []byte, seq int64) []byte {
	timestamp, host := []byte("-"), []byte("-")
	if first, _, ok := bytes.Cut(line, []byte(" ")); ok && len(first) >= 20 && first[4] == '-' && first[10] == 'T' {
		timestamp = first
	}
	if _, after, ok := bytes.Cut(line, []byte(" host=")); ok {
		if h, _, _ := bytes.Cut(after, []byte(" ")); len(h) > 0 && len(h) <= 255 {
			host = h
		}
	}
	dst = append(dst, "<134>1 "...) // facility local0, severity informational
	dst = append(dst, timestamp...)
	dst = append(dst, ' ')
	dst = append(dst, host...)
	dst = append(dst, ` shop 4242 access [bench@32473 seq="`...)
	dst = strconv.AppendInt(dst, seq, 10)
	dst = append(dst, `"] `...)
	return append(dst, bytes.TrimRight(line, "\n")...)
}
