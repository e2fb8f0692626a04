// Package processors is the per-input processing chain (DESIGN.md section 2, item 7): parsers that turn a line
// into fields, the timestamp processor that stamps an event with the time written in the log, and filters and
// edits. A chain runs between a source and the queue as a decorator of the Publisher the source is handed, so
// sources stay unaware of it. A dropped event keeps its position: it is published marked as dropped and the
// engine acknowledges it in order without sending it to any output.
//
// The chain costs many times what reading a line does, so a source's Publish of more than a few dozen events runs
// it in chunks on the spare cores (Publisher), and hands the events on whole and in order once all are done.
//
// JSON is read with internal/jsonscan, the hand-written strict scanner the sources use (parse_json's members,
// the raw objects the field set explodes, string values): on log lines it takes less than half jsontext's time.
// jsontext serves one check jsonscan does not make: that no nested object parse_json passes on has a name
// twice (namesUnique falls back to it for objects of escaped, invalid or many names); that fallback reads the
// value a second time, which the common case (a few plain names, compared in one pass) does not.
//
// One file per processor kind. Parsers (dissect, parse_logfmt, parse_regex, parse_json, the presets) only read
// a value and hand the fields they find to a Setter; the chain owns the event's fields and renders them.
//
// # Fields
//
// Field names are dotted paths: `client.ip` and `client.port` are written as "client":{"ip":...,"port":...}.
// A field set twice keeps the last value, and so does a path: setting `a.b` replaces a value at `a` (unless it is
// an object parse_json found, whose other members stay), and setting `a` replaces everything under `a`. So an
// event never has a name twice. A path reaches into an object parse_json set (`http.status` inside `http`) for
// conditions, timestamp, drop_fields and rename alike; an object left without members is not written. Strings
// are written as the message is: invalid UTF-8 replaced with U+FFFD.
//
// An event holds at most maxFields (1000) fields, deleted ones counted, and names of at most maxDepth (64) dotted
// parts: setting a field compares its name with every other, so a line of 80,000 members would cost time
// quadratic in its size, and a name of 400,000 parts would be rendered that deep. A step that would pass either
// bound fails (a parser's fields are discarded and the line ships unparsed, the error naming the bound).
// parse_json's max_depth set above 64 does not raise the bound on names.
//
// Before the first processor runs, the fields are `message` and the members the source wrote for the event
// (a container line's `stream`, a malformed line's `error.message`), which processors may read, and edits
// (rename, drop_fields, add_fields) change; a parser's fields do not replace them (see below).
//
// # Names flicker writes itself
//
//   - `message`: a field of that name is the event's message. A value that is not a string (an object, a number)
//     becomes its JSON text; without a message field (dropped, or parse_json took it) the message is "".
//   - `@timestamp`: a field of that name (parse_json's own @timestamp member, say) that holds an RFC 3339 time
//     sets the event's time when the chain ends; any other value is kept as `@timestamp_`.
//   - `id`, `input`, `dead_letter`, `log.file`, `log.offset`: a field of that name is kept with '_' appended
//     (`id_`, `log.offset_`); the event's own id, input, file path and offset (and a dead letter's reason) stay.
//   - `log.*`: other fields under log go inside the event's "log" object; a `log` field that is not an object
//     is kept as `log_`.
//   - A field whose top-level name is one the source, the stream or the input writes (`container`,
//     `kubernetes`, `api`, `syslog`, `source`, `stream`, `fields` or a configured field under the root) merges
//     with it, and theirs win: where both have a value the source's, stream's or input's is kept, and the
//     processors' fields only fill the gaps (`fields.team` next to the configured `fields.env`), so that a line's
//     content cannot replace the metadata that routes or attributes it. The members the source wrote for the
//     event are put back after each parser that set a field under their names; the stream's and the input's
//     are merged when the chain ends.
//
// # Errors
//
// A processor that fails on an event (a line its parser cannot parse, a time no layout reads, a field it needs
// missing without ignore_missing) does not stop the input: the event goes on with `error.message` saying which
// processor failed and why (`dissect: expected " - " after %{client.ip} (from byte 0 of the value)`; the
// processor is named with its list index when its kind appears more than once, `dissect[2]`; the parsers' own
// errors do not name them), the fields a failed parser set are discarded, the processors after it still run,
// and the failure is counted (Chain.ErrorCounts). When several fail, the first one's message is kept (it
// replaces a source's error.message): the later ones are mostly its consequences. An `error` field that is not
// an object (a log's own `"error":"connection refused"`) is kept as `error_`, not replaced.
//
// # Timestamp
//
// timestamp sets the event's time from a field and keeps the time the event was read as `event.ingested`
// (RFC 3339 in UTC, nanoseconds). Layouts are tried in order: Go layouts (a layout without a year takes the
// read time's year, or the year before when that would put the time more than a day after it), RFC3339 and
// RFC3339Nano (any number of fraction digits), ISO8601 (`2006-01-02T15:04:05`, a space for the T, fraction and
// zone optional), UNIX, UNIX_MS, UNIX_US and UNIX_NS (a number or a numeric string, with a fraction). Times
// without a zone are in `timezone` (UTC by default; zone data is built in).
//
// # Other rules
//
// parse_json on the message without keep_message: the object's own `message` member becomes the message when
// target is "" and it has one; otherwise the message is removed (the object is under target). drop's
// condition and include_lines/exclude_lines read a field's text: a string as is, a number or other JSON value
// as its JSON text; a missing field fails every test but `exists: false`. include_lines and exclude_lines run
// where they stand in the list (Filebeat applies include before exclude). rename replaces what is at the new
// name.
package processors
