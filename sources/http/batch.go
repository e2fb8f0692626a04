package http

import (
	"bytes"
	"errors"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/jsonscan"
	"github.com/flickerlog/flicker/internal/rfc3339"
)

// batch is what one request's body becomes: its events and the memory they point into. Events slice the body
// and one arena (rendered fields, unescaped messages, ids) instead of owning bytes, so a request costs a few
// pooled buffers whatever its number of events. While parsing, the arena may move: events keep offsets (refs)
// that finish turns into slices once it stops growing.
type batch struct {
	body      []byte
	arena     []byte
	events    []engine.Event
	refs      []eventRefs
	items     []bulkItem // _bulk: one per action, in order
	keyBuf    []byte     // an escaped key, unescaped
	underRoot bool
	now       time.Time
	// budget, when set, is charged eventCost per event as they are added (eventChunk at a time), so that a small
	// body of many tiny events cannot take more memory than the source allows; reserved is what was charged, and
	// over is set once the budget refused: the parser stops with errEventBudget.
	budget   *inflight
	chunk    int // events reserved at once
	reserved int64
	over     bool
}

// eventCost is what an event takes while its request is parsed, beyond its bytes in the body and the arena: the
// engine.Event and its refs (about 170 bytes), twice over for the growth of their slices.
const eventCost = 400

// maxEventChunk is how many events' eventCost is reserved at once at most (fewer with a small budget).
const maxEventChunk = 256

// eventChunk is the events reserved at once in a budget of that many bytes: a sixteenth of it at most.
func eventChunk(budget int64) int { return int(min(max(budget/(16*eventCost), 1), maxEventChunk)) }

// errEventBudget stops a parser whose events take more than the budget allows.
var errEventBudget = errors.New("the request's events take more memory than this source lets a request use: split the request")

// overErr is errEventBudget once the budget refused the events added.
func (b *batch) overErr() error {
	if b.over {
		return errEventBudget
	}
	return nil
}

// ref locates bytes of an event in the body or the arena; end < 0: none.
type ref struct {
	off, end int32
	arena    bool
}

var noRef = ref{end: -1}

type eventRefs struct{ msg, extra, id ref }

func (b *batch) reset(body []byte, underRoot bool, now time.Time) {
	b.body, b.underRoot, b.now = body, underRoot, now
	b.budget, b.reserved, b.over = nil, 0, false
	b.arena = b.arena[:0]
	clear(b.events)
	b.events, b.refs, b.items = b.events[:0], b.refs[:0], b.items[:0]
}

func (b *batch) bytes(r ref) []byte {
	switch {
	case r.end < 0:
		return nil
	case r.arena:
		return b.arena[r.off:r.end:r.end]
	}
	return b.body[r.off:r.end:r.end]
}

func bodyRef(off, end int) ref { return ref{off: int32(off), end: int32(end)} }

// arenaSince is the ref of what was appended to the arena since off.
func (b *batch) arenaSince(off int) ref {
	return ref{off: int32(off), end: int32(len(b.arena)), arena: true}
}

// add appends an event; its time is the request's unless t is set.
func (b *batch) add(msg, extra, id ref, t time.Time) int {
	if t.IsZero() {
		t = b.now
	}
	if b.budget != nil && len(b.events)%b.chunk == 0 && !b.over {
		if cost := int64(b.chunk) * eventCost; b.budget.reserve(cost) {
			b.reserved += cost
		} else {
			b.over = true
		}
	}
	b.events = append(b.events, engine.Event{Time: t, Offset: -1})
	b.refs = append(b.refs, eventRefs{msg: msg, extra: extra, id: id})
	return len(b.events) - 1
}

// finish makes the events final for stream st: ids derived from the stream's seed where the sender gave none
// (a retried body gets the same ids), positions 1..n, and slices in place of refs.
func (b *batch) finish(st *engine.Stream) {
	for i := range b.refs {
		if b.refs[i].id.end >= 0 {
			continue
		}
		off := len(b.arena)
		tmp := engine.Event{Stream: st, Offset: int64(i)}
		b.arena = tmp.AppendID(b.arena)
		b.refs[i].id = b.arenaSince(off)
	}
	referenced := 0
	for i := range b.events {
		ev, r := &b.events[i], &b.refs[i]
		ev.Stream, ev.Pos = st, int64(i+1)
		ev.Message, ev.Extra, ev.ID = b.bytes(r.msg), b.bytes(r.extra), b.bytes(r.id)
		referenced += len(ev.Message) + len(ev.Extra) + len(ev.ID)
	}
	// The request's body and arena stay in memory until its events are acknowledged, also the bytes no event
	// references (white space between values, _bulk action lines, the parts of documents left out): the last
	// event holds them (engine.Event.Held), so that the queue's byte bound covers the whole request.
	if n := len(b.events); n > 0 {
		b.events[n-1].Held = int64(max(0, len(b.body)+len(b.arena)-referenced))
	}
}

// docPaths are the members looked up in a sender's document: the message candidates in order of preference,
// then its time.
var docPaths = []string{"message", "log", "event", "@timestamp"}

const docTimePath = 3

// value scans one JSON value at s.I (Strict) and adds it as an event: an object is a document (its fields, its
// message), a string is the message, anything else is the message as written.
func (b *batch) value(s *jsonscan.Scanner) error {
	start := s.I
	switch s.Peek() {
	case '{':
		var found [jsonscan.MaxPaths][]byte
		if err := s.Object(docPaths, found[:len(docPaths)]); err != nil {
			return err
		}
		b.document(start, s.I, found[:3], found[docTimePath])
		return nil
	case '"':
		ms, me, escaped, err := s.Str()
		if err != nil {
			return err
		}
		b.add(b.stringRef(ms, me, escaped), noRef, noRef, time.Time{})
		return nil
	}
	if err := s.Skip(); err != nil {
		return err
	}
	b.add(bodyRef(start, s.I), noRef, noRef, time.Time{})
	return nil
}

// document adds the object at body[start:end] as an event: message from the first of candidates that is a
// string, else the document as written; time from timeRaw when it is an RFC 3339 string.
func (b *batch) document(start, end int, candidates [][]byte, timeRaw []byte) int {
	msg := bodyRef(start, end)
	for _, c := range candidates {
		if r, ok := b.stringValueRef(c); ok {
			msg = r
			break
		}
	}
	var t time.Time
	if len(timeRaw) > 2 && timeRaw[0] == '"' {
		if parsed, ok := rfc3339.Parse(timeRaw[1 : len(timeRaw)-1]); ok {
			t = parsed
		}
	}
	return b.add(msg, b.fields(b.body[start:end]), noRef, t)
}

// stringRef is the ref of the contents of a string at body[ms:me], unescaped into the arena when needed.
func (b *batch) stringRef(ms, me int, escaped bool) ref {
	if !escaped {
		return bodyRef(ms, me)
	}
	off := len(b.arena)
	b.arena, _ = jsonscan.AppendUnescaped(b.arena, b.body[ms:me]) // Strict scanning checked the escapes
	return b.arenaSince(off)
}

// stringValueRef is stringRef for raw, a value slice of the body; false when it is not a string.
func (b *batch) stringValueRef(raw []byte) (ref, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return noRef, false
	}
	ms := offsetIn(b.body, raw) + 1
	me := ms + len(raw) - 2
	return b.stringRef(ms, me, bytes.IndexByte(raw, '\\') >= 0), true
}

// offsetIn is where sub, a slice of b, starts in b.
func offsetIn(b, sub []byte) int { return cap(b) - cap(sub) }

// rootReserved are the event keys that a document's members must not repeat at the top level.
var rootReserved = map[string]bool{"@timestamp": true, "message": true, "id": true, "input": true, "log": true,
	"source": true, "dead_letter": true}

// fields renders doc (an object, already scanned) into the arena as the event's extra members:
// `,"fields":<doc>`, or with underRoot the document's members other than rootReserved ones.
func (b *batch) fields(doc []byte) ref {
	off := len(b.arena)
	if !b.underRoot {
		b.arena = append(append(b.arena, `,"fields":`...), doc...)
		return b.arenaSince(off)
	}
	s := jsonscan.Scanner{B: doc, I: 1}
	for {
		s.WS()
		if s.Peek() != '"' {
			break // '}'
		}
		ks := s.I
		_, _, kesc, _ := s.Str()
		ke := s.I
		s.WS()
		s.I++ // ':'
		s.WS()
		vs := s.I
		_ = s.Skip()
		key := doc[ks+1 : ke-1]
		if kesc { // "mess\u0061ge" is message: compare what the key says, not how it is written
			key, _ = jsonscan.AppendUnescaped(b.keyBuf[:0], key)
			b.keyBuf = key
		}
		if !rootReserved[string(key)] {
			b.arena = append(append(append(append(b.arena, ','), doc[ks:ke]...), ':'), doc[vs:s.I]...)
		}
		s.WS()
		if s.Peek() == ',' {
			s.I++
		}
	}
	if len(b.arena) == off {
		return noRef
	}
	return b.arenaSince(off)
}
