// Package eventjson renders an engine.Event as flicker's JSON event (DESIGN.md section 5): one object, nested
// members, appended to a caller's buffer without reflection and without allocating per event.
//
// Layout, in this order:
//
//	{"@timestamp":"2026-11-21T10:00:00.123456789Z","message":"...","id":"...",
//	 "input":{"name":"app","type":"file"},"log":{"file":{"path":"..."},"offset":1234<Event.LogExtra>}
//	 <Stream.Extra><Event.Extra><Input.FieldsJSON>}
//
// Event.LogExtra (a processor's log.* fields) goes inside the "log" object, which is written for it alone when
// the event has neither path nor offset. With Event.ExtraReplacesStream, Event.Extra is written in place of
// Stream.Extra, Event.Extra and Input.FieldsJSON: a processor merged them.
//
// Caveats:
//   - An Encoder caches the last rendered second: one Encoder per encoding goroutine (its counter may be read from
//     anywhere).
//   - Stream.Extra, Event.Extra and Input.FieldsJSON are copied verbatim: the sources that render them are trusted
//     to produce valid JSON members that start with a comma.
//   - Invalid UTF-8 in any string is replaced byte by byte with U+FFFD and the event is counted once in
//     Encoder.InvalidUTF8; valid UTF-8 (including U+2028/U+2029 and "<>&") is passed through unescaped.
//   - @timestamp needs a four-digit year: times before year 0 or after 9999 are clamped to the first or last
//     representable instant.
package eventjson
