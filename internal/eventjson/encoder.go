package eventjson

import (
	"strconv"
	"sync/atomic"

	"github.com/flickerlog/flicker/engine"
)

// Encoder appends events as JSON. Its zero value is ready to use. Append and AppendDeadLetter must not be called
// concurrently on one Encoder (it caches what consecutive events share): give each encoding goroutine its own.
// The counters may be read at any time.
type Encoder struct {
	// InvalidUTF8 counts the events in which invalid UTF-8 was replaced with U+FFFD.
	InvalidUTF8 atomic.Int64

	clock clock
	input memo // `,"input":{"name":...,"type":...}` of the last input
	path  memo // `,"log":{"file":{"path":...}` of the last path, without the closing braces
}

// memo is the rendering of the last value seen. Events come in runs from one stream, so one entry is enough;
// keys are compared as strings, which is quick when they share their bytes and stays right if they do not.
type memo struct {
	k1, k2  string
	out     []byte
	invalid bool
	ok      bool
}

func (m *memo) hit(k1, k2 string) bool { return m.ok && k1 == m.k1 && k2 == m.k2 }

func (m *memo) set(k1, k2 string, out []byte, invalid bool) {
	m.k1, m.k2, m.out, m.invalid, m.ok = k1, k2, out, invalid, true
}

// Append appends ev as one JSON object, without a trailing newline. ev.Stream is required.
func (e *Encoder) Append(dst []byte, ev *engine.Event) []byte {
	dst, invalid := e.appendEvent(dst, ev)
	dst = append(dst, '}')
	if invalid {
		e.InvalidUTF8.Add(1)
	}
	return dst
}

// AppendDeadLetter appends ev like Append with one more member, `"dead_letter":{"reason":"..."}`, saying why the
// original output rejected it. A nil reason is written as "unknown".
func (e *Encoder) AppendDeadLetter(dst []byte, ev *engine.Event, reason error) []byte {
	dst, invalid := e.appendEvent(dst, ev)
	dst = append(dst, `,"dead_letter":{"reason":`...)
	msg := "unknown"
	if reason != nil {
		msg = reason.Error()
	}
	var bad bool
	dst, bad = appendString(dst, msg)
	dst = append(dst, "}}"...)
	if invalid || bad {
		e.InvalidUTF8.Add(1)
	}
	return dst
}

// appendEvent appends every member of the event, leaving the object open so that callers can add members. It
// reports whether any string held invalid UTF-8.
func (e *Encoder) appendEvent(dst []byte, ev *engine.Event) ([]byte, bool) {
	var invalid, bad bool
	dst = append(dst, `{"@timestamp":"`...)
	dst = e.clock.appendTimestamp(dst, ev.Time)
	dst = append(dst, `","message":`...)
	dst, invalid = appendBytes(dst, ev.Message)

	dst = append(dst, `,"id":`...)
	if len(ev.ID) > 0 {
		// A source's own id comes from outside (an API item): escape it like any other string.
		dst, bad = appendBytes(dst, ev.ID)
		invalid = invalid || bad
	} else {
		dst = append(dst, '"')
		dst = ev.AppendID(dst)
		dst = append(dst, '"')
	}

	st := ev.Stream
	in := st.Input
	if in != nil {
		if !e.input.hit(in.Name, in.Type) {
			out := append(e.input.out[:0], `,"input":{"name":`...)
			out, bad = appendString(out, in.Name)
			out = append(out, `,"type":`...)
			var badType bool
			out, badType = appendString(out, in.Type)
			out = append(out, '}')
			e.input.set(in.Name, in.Type, out, bad || badType)
		}
		dst = append(dst, e.input.out...)
		invalid = invalid || e.input.invalid
	}

	switch {
	case st.Path != "":
		if !e.path.hit(st.Path, "") {
			out := append(e.path.out[:0], `,"log":{"file":{"path":`...)
			out, bad = appendString(out, st.Path)
			e.path.set(st.Path, "", out, bad)
		}
		dst = append(dst, e.path.out...)
		invalid = invalid || e.path.invalid
		dst = append(dst, '}')
		if ev.Offset >= 0 {
			dst = append(dst, `,"offset":`...)
			dst = strconv.AppendInt(dst, ev.Offset, 10)
		}
		dst = append(dst, ev.LogExtra...)
		dst = append(dst, '}')
	case ev.Offset >= 0:
		dst = append(dst, `,"log":{"offset":`...)
		dst = strconv.AppendInt(dst, ev.Offset, 10)
		dst = append(dst, ev.LogExtra...)
		dst = append(dst, '}')
	case len(ev.LogExtra) > 0:
		// A "log" object of the processors' members alone: LogExtra starts with the comma the '{' replaces.
		dst = append(dst, `,"log":{`...)
		dst = append(dst, ev.LogExtra[1:]...)
		dst = append(dst, '}')
	}

	if ev.ExtraReplacesStream {
		// A processor merged the stream's members and the configured fields into Extra.
		return append(dst, ev.Extra...), invalid
	}
	dst = append(dst, st.Extra...)
	dst = append(dst, ev.Extra...)
	if in != nil {
		dst = append(dst, in.FieldsJSON...)
	}
	return dst, invalid
}
