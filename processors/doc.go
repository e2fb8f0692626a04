// Package processors is the per-input processing chain (DESIGN.md section 2, item 7): parsers that turn a line
// into fields, the timestamp processor that stamps an event with the time written in the log, and filters and
// edits. A chain runs between a source and the queue as a decorator of the Publisher the source is handed, so
// sources stay unaware of it. A dropped event keeps its position: it is published marked as dropped and the
// engine acknowledges it in order without sending it to any output.
//
// One file per processor kind. Parsers (dissect, parse_logfmt, parse_regex, parse_json, the presets) only read
// a value and hand the fields they find to a Setter; the chain owns the event's fields and renders them.
package processors
