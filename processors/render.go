package processors

import (
	"bytes"
	"unicode/utf8"

	"github.com/flickerlog/flicker/internal/eventjson"
)

// renderer holds what rendering nested objects needs, reused from event to event.
type renderer struct {
	rest    []int  // per entry: where the part of its key still to write starts
	done    []bool // per entry: written
	stack   []int  // the entries of the objects being written
	top     []int  // the entries written at the top level
	logList []int  // the entries written in the log object

	shape shape       // the last layout written
	ord   []int       // per entry: its index in the shape's keys
	rec   bool        // record where values are written
	spans []valueSpan // where they were
	large bool        // the last shape recorded grew the slices past what trim lets the next events keep
}

// trim lets go of the slices a large event grew, and of its shape: the next events are mostly smaller.
func (r *renderer) trim() {
	if r.large {
		*r = renderer{}
	}
}

func (r *renderer) prepare(n int) {
	r.rest = append(r.rest[:0], make([]int, n)...)
	r.done = append(r.done[:0], make([]bool, n)...)
	r.stack = r.stack[:0]
}

// appendMembers appends the members that the entries listed make, one nested object per shared key segment,
// each preceded by a comma when comma is set (else separated by commas).
func (f *fieldSet) appendMembers(dst []byte, r *renderer, list []int, comma bool) []byte {
	for j, ei := range list {
		if r.done[ei] {
			continue
		}
		if comma {
			dst = append(dst, ',')
		}
		comma = true
		e := &f.entries[ei]
		k := e.key[r.rest[ei]:]
		dot := bytes.IndexByte(k, sep)
		if dot < 0 {
			dst = appendName(dst, k)
			start := len(dst)
			dst = appendValue(dst, e)
			if r.rec {
				r.spans = append(r.spans, valueSpan{start: start, end: len(dst), entry: ei})
			}
			r.done[ei] = true
			continue
		}
		// The set's invariant keeps a leaf from sharing its name with an object: only entries with a dot left
		// are grouped.
		name := k[:dot]
		dst = appendName(dst, name)
		dst = append(dst, '{')
		base := len(r.stack)
		r.stack = append(r.stack, ei)
		r.rest[ei] += dot + 1
		for _, ej := range list[j+1:] {
			if r.done[ej] {
				continue
			}
			kj := f.entries[ej].key[r.rest[ej]:]
			if len(kj) > dot && kj[dot] == sep && string(kj[:dot]) == string(name) {
				r.stack = append(r.stack, ej)
				r.rest[ej] += dot + 1
			}
		}
		// A later append may move the stack; this slice keeps the old array, whose part here does not change.
		dst = f.appendMembers(dst, r, r.stack[base:len(r.stack):len(r.stack)], false)
		r.stack = r.stack[:base]
		dst = append(dst, '}')
	}
	return dst
}

// appendName appends name as a member name with its colon. Names are short and mostly plain ASCII, written
// without a call.
func appendName(dst, name []byte) []byte {
	for _, c := range name {
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			return append(eventjson.AppendString(dst, name), ':')
		}
	}
	dst = append(dst, '"')
	dst = append(dst, name...)
	return append(dst, '"', ':')
}

func appendValue(dst []byte, e *entry) []byte {
	if e.kind == kindString {
		return eventjson.AppendString(dst, e.val)
	}
	if utf8.Valid(e.val) {
		return append(dst, e.val...)
	}
	// Only a string of a raw value can hold bytes that are not ASCII: each invalid one is replaced there, as
	// the encoder does in the message.
	for v := e.val; len(v) > 0; {
		r, n := utf8.DecodeRune(v)
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, v[:n]...)
		}
		v = v[n:]
	}
	return dst
}

// appendObject appends the fields under key as one JSON object.
func (f *fieldSet) appendObject(dst []byte, key []byte) []byte {
	var r renderer
	r.prepare(len(f.entries))
	for i := range f.entries {
		if e := &f.entries[i]; e.kind != kindGone && under(e.key, key) {
			r.stack = append(r.stack, i)
			r.rest[i] = len(key) + 1
		}
	}
	dst = append(dst, '{')
	dst = f.appendMembers(dst, &r, r.stack[:len(r.stack):len(r.stack)], false)
	return append(dst, '}')
}

// renderTop appends the event's log.* members, then its others (everything but message), to dst, each starting
// with a comma; logEnd is where the log ones end.
func (f *fieldSet) renderTop(r *renderer, dst []byte) (out []byte, logEnd int) {
	top, logList := r.top[:0], r.logList[:0]
	for i := range f.entries {
		e := &f.entries[i]
		switch {
		case e.kind == kindGone || e.top == messageSig && topIs(e.key, messageKey):
		case e.top == logSig && under(e.key, logKey): // a log leaf was renamed by settleReserved
			logList = append(logList, i)
		default:
			top = append(top, i)
		}
	}
	r.top, r.logList = top, logList
	if r.shape.matches(f, logList, top) {
		dst = r.shape.log.fill(dst, f, logList, top)
		logEnd = len(dst)
		return r.shape.extra.fill(dst, f, logList, top), logEnd
	}
	r.prepare(len(f.entries))
	for _, i := range logList {
		r.rest[i] = len(logKey) + 1
	}
	r.ord = append(r.ord[:0], make([]int, len(f.entries))...)
	for i, ei := range logList {
		r.ord[ei] = i
	}
	for i, ei := range top {
		r.ord[ei] = len(logList) + i
	}
	r.rec, r.spans = true, r.spans[:0]
	logBase := len(dst)
	dst = f.appendMembers(dst, r, logList, true)
	logEnd, nLogSpans := len(dst), len(r.spans)
	dst = f.appendMembers(dst, r, top, true)
	r.rec = false
	r.shape.record(f, logList, top, r.ord, dst, logBase, logEnd, r.spans, nLogSpans)
	// Every slice grows with the entries, or with the keys and the output the shape keeps.
	r.large = len(f.entries) > maxKeptSlots || len(r.spans) > maxKeptSlots || len(r.stack) > maxKeptSlots ||
		len(r.shape.keys) > maxKeptBuffer || len(r.shape.log.lits)+len(r.shape.extra.lits) > maxKeptBuffer
	return dst, logEnd
}
