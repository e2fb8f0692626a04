package processors

import (
	"bytes"
	"unsafe"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/rfc3339"
)

// What the set's fields mean in the event (doc.go, "Names flicker writes itself"): the event's own fields a set
// starts with, the names the encoder writes itself, and the merge with the stream's members.

// Top-level names with a meaning of their own in the encoded event (doc.go, "Field names").
var (
	messageKey   = []byte("message")
	logKey       = []byte("log")
	timestampKey = []byte("@timestamp")
	idKey        = []byte("id")
	inputKey     = []byte("input")
	deadKey      = []byte("dead_letter")

	messageSig, logSig, timestampSig = sigOf(messageKey), sigOf(logKey), sigOf(timestampKey)
	idSig, inputSig, deadSig         = sigOf(idKey), sigOf(inputKey), sigOf(deadKey)
)

// renamed are the fields at a name the encoder writes itself, and the names they are kept under.
var renamed = [...]struct{ from, to string }{
	{"@timestamp", "@timestamp_"}, {"id", "id_"}, {"input", "input_"}, {"dead_letter", "dead_letter_"},
	{"log.file", "log.file_"}, {"log.offset", "log.offset_"},
}

// load resets the set to the event's own fields: the message, and the members the source put in ev.Extra.
func (f *fieldSet) load(ev *engine.Event) {
	f.reset()
	f.appendEntry(entry{key: messageKey, val: ev.Message, top: messageSig, kind: kindString, stable: true}, true)
	if len(ev.Extra) > 1 {
		// Extra is members starting with a comma: the object they make is '{' + Extra[1:] + '}'.
		start := len(f.vals)
		f.vals = append(f.vals, '{')
		f.vals = append(f.vals, ev.Extra[1:]...)
		f.vals = append(f.vals, '}')
		f.source = f.vals[start:len(f.vals):len(f.vals)]
		f.putMembers(f.readMembers(nil, false, f.source))
	}
	f.sourceEnd = len(f.entries)
	f.journal = f.journal[:0]
	f.dirty = false
}

// shadowsSource reports whether an entry from the from-th on shares its top-level name with a member the source
// wrote (load put those at entries[1:sourceEnd]).
func (f *fieldSet) shadowsSource(from int) bool {
	for i := from; i < len(f.entries); i++ {
		e := &f.entries[i]
		for j := 1; j < f.sourceEnd; j++ {
			if s := &f.entries[j]; s.top == e.top && sameTop(s.key, e.key) {
				return true
			}
		}
	}
	return false
}

// sameTop reports whether keys a and b have the same top-level name.
func sameTop(a, b []byte) bool {
	n := bytes.IndexByte(a, sep)
	if n < 0 {
		n = len(a)
	}
	return len(b) >= n && (len(b) == n || b[n] == sep) && bytes.Equal(a[:n], b[:n])
}

// restoreSource puts the members the source wrote back over the fields at their names (see mergeOver), those
// whose top-level name an entry from the from-th on has: a line's content does not replace the metadata its
// source wrote, and the members an edit before changed stay as it left them.
func (f *fieldSet) restoreSource(from int) {
	end := len(f.entries)
	base := f.readMembers(nil, false, f.source)
	for j := base; j < len(f.members); j++ {
		m := f.members[j]
		for i := from; i < end; i++ {
			if sameTop(m.key, f.entries[i].key) {
				f.mergeOver(m.key, m.val) // pops what it pushes: f.members ends at the same place
				break
			}
		}
	}
	clear(f.members[base:])
	f.members = f.members[:base]
}

// topIs reports whether key is name or lies under it.
func topIs(key, name []byte) bool {
	return bytes.Equal(key, name) || under(key, name)
}

// messageKept reports whether the message is the event's own, untouched: load put it first.
func (f *fieldSet) messageKept() bool {
	return f.entries[0].kind != kindGone && !f.hasUnder(messageKey)
}

// settleReserved applies the rules for fields at names the encoder writes itself (doc.go): an @timestamp that
// holds an RFC 3339 time sets the event's time; a log field that is not an object, whose members would go inside
// the encoder's log object, becomes log_; the rest are renamed (see renamed), dead_letter included, which a dead
// letter's copy of the event has.
func (f *fieldSet) settleReserved(ev *engine.Event) {
	if !f.maybeReserved {
		return
	}
	reserved := false
	for i := range f.entries {
		e := &f.entries[i]
		if e.kind != kindGone && (e.top == timestampSig && topIs(e.key, timestampKey) ||
			e.top == idSig && topIs(e.key, idKey) || e.top == inputSig && topIs(e.key, inputKey) ||
			e.top == logSig && topIs(e.key, logKey) || e.top == deadSig && topIs(e.key, deadKey)) {
			reserved = true
			break
		}
	}
	if !reserved {
		return
	}
	if i := f.find(string(timestampKey)); i >= 0 {
		if t, ok := rfc3339.Parse(f.entryText(i)); ok {
			ev.Time = t
			f.remove(i)
		}
	}
	if i := f.find(string(logKey)); i >= 0 && !f.explode(i) {
		f.rename(string(logKey), "log_")
	}
	for _, r := range renamed {
		if f.exists(r.from) {
			f.rename(r.from, r.to)
		}
	}
}

// mergeStream puts the stream's members (and the input's configured fields) over the set's fields (mergeOver).
func (f *fieldSet) mergeStream(sm *streamMembers) {
	for _, m := range sm.members {
		f.mergeOver(m.key, m.val)
	}
}

// mergeOver puts raw at key over the set's fields: raw wins where both have a value, and where both are
// objects their members merge the same way, so that the set's fields only fill the gaps of raw's.
func (f *fieldSet) mergeOver(key, raw []byte) {
	isObject := len(raw) > 0 && raw[0] == '{'
	if isObject {
		if i := f.find(unsafe.String(unsafe.SliceData(key), len(key))); i >= 0 {
			f.explode(i) // the set's object at key: its members merge with raw's
		}
	}
	if !isObject || !f.hasUnder(key) {
		f.store(key, raw, kindRaw, false) // replaces what is at key, above it and under it
		return
	}
	f.mergeOverMembers(f.readMembers(key, true, raw))
}

// mergeOverMembers merges the members pushed from base on over the set's fields, and pops them.
func (f *fieldSet) mergeOverMembers(base int) {
	// Merging one may push more: f.members is read by index, each time.
	for j := base; j < len(f.members); j++ {
		m := f.members[j]
		f.mergeOver(m.key, m.val)
	}
	clear(f.members[base:])
	f.members = f.members[:base]
}

// collides reports whether a field's top-level name is one of the stream's members'.
func (f *fieldSet) collides(sm *streamMembers) bool {
	for i := range f.entries {
		e := &f.entries[i]
		if e.kind == kindGone {
			continue
		}
		top := e.key
		if dot := bytes.IndexByte(top, sep); dot >= 0 {
			top = top[:dot]
		}
		for _, m := range sm.members {
			if bytes.Equal(m.key, top) {
				return true
			}
		}
	}
	return false
}
