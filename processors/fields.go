package processors

import (
	"bytes"
	"fmt"
	"unicode/utf8"
	"unsafe"

	"github.com/flickerlog/flicker/internal/jsonscan"
)

// valueKind says how an entry's value is held.
type valueKind uint8

const (
	kindGone   valueKind = iota // deleted
	kindString                  // the string's bytes, unescaped: escaped when rendered
	kindRaw                     // one JSON value, as is
)

// entry is one field: a dotted key and its value.
type entry struct {
	key    []byte
	val    []byte
	top    topSig // of key
	kind   valueKind
	stable bool // key is a string's bytes (or a constant's), never changed: its address and length name it
}

// topSig sums up a key's top-level name (its length, first and last bytes): keys whose names differ in it are
// neither equal nor one under the other, which most comparisons of keys settle with it alone.
type topSig uint32

func sigOf(key []byte) topSig {
	n := bytes.IndexByte(key, sep)
	if n < 0 {
		n = len(key)
	}
	if n == 0 {
		return 0
	}
	return topSig(n)<<16 | topSig(key[0])<<8 | topSig(key[n-1])
}

// change records an entry that lost its value since the last mark, so that a failed parser can be undone.
type change struct {
	i    int
	kind valueKind
}

// member is a field waiting to be set: read from an object being exploded, or moved by a rename.
type member struct {
	key  []byte
	val  []byte
	kind valueKind
}

// fieldSet is the fields of the event being processed. Its invariant: no two live entries have the same key,
// and no live key is a prefix of another at a dot ("a" and "a.b"), so that rendering nested objects never writes
// a name twice. Setting a key replaces what was at it and under it (last write wins); a value above it is
// replaced too, except a raw object, which is exploded into one field per member first so that its other
// members stay.
//
// keys and vals only grow while an event is processed: entries hold slices of them, which stay valid when an
// append moves the buffer (an entry's key may also be a parser's key string, or the stream's cached members,
// and its value the event's message, a slice of what a parser read, or a configured value: all read only). The
// set is reused from event to event (reset), so its steady state allocates nothing.
type fieldSet struct {
	entries []entry
	keys    []byte
	vals    []byte
	journal []change
	members []member // a stack of the members of the objects being exploded
	dirty   bool     // a field was set, deleted or renamed since load
	// maybeReserved is set when a key's top-level name may be one the encoder writes itself (settleReserved).
	maybeReserved bool
	// input is the value a parser is reading: a slice of the message or of a field, so stable until reset. A
	// value inside it is kept as is, not copied (see copyVal).
	input []byte

	// put's fast path. trace holds keys by entry index, as the last events set them; no two of
	// trace[:traceClean] are equal or one under the other. The first same entries of this event have the keys
	// trace[:same]: the next key, when it is trace[same] (the same string, by address and length) and same <
	// traceClean, can be neither equal to nor above nor under any entry, and is appended without comparing.
	trace      []traced
	traceClean int
	same       int

	used int // entries[:used] may hold the references of an event before this one: those past it are nil

	// source is the object of the members the source wrote for the event (ev.Extra), which load put at
	// entries[1:sourceEnd]; nil when it wrote none.
	source    []byte
	sourceEnd int

	// refused is why put left a key out since the step began (too many fields, a key nested too deep): the
	// step fails with it (see Chain.processWith).
	refused error
}

// maxFields bounds the entries of one event, deleted ones included, so that setting a field, which compares
// its key with every entry's, costs at most that many comparisons: a line of 80,000 members is refused, not
// processed in time quadratic in its size.
const maxFields = 1000

// maxDepth bounds how deep an event's fields nest: the segments of a dotted key, and parse_json's default
// max_depth, which counts the segments of its members' names too.
const maxDepth = 64

var errTooManyFields = fmt.Errorf("more than %d fields in one event", maxFields)

// traced is a key put took as a string its caller never changes: its address and length identify its bytes
// (and the pointer keeps them from being freed and reused).
type traced struct {
	p   *byte
	n   int
	top topSig
}

// Set and lookups split keys at dots only: segments are never unescaped or trimmed.
const sep = '.'

// maxKeptBuffer and maxKeptSlots bound the buffers (bytes) and slices (elements) a set or a renderer keeps
// for the next event: one huge line does not pin its size in every pooled scratch.
const (
	maxKeptBuffer = 256 << 10
	maxKeptSlots  = 512
)

// trimmed returns b emptied, or nil when it grew past max elements.
func trimmed[T any](b []T, max int) []T {
	if cap(b) > max {
		return nil
	}
	return b[:0]
}

func (f *fieldSet) reset() {
	// This event's entries are not cleared: the next event overwrites them, and clearing would cost a write
	// barrier per pointer while the collector marks. The slots past them, which a larger event used, are, so
	// that the set points at the last event's bytes at most, and all are when the value buffer is let go.
	keep := len(f.entries)
	if keep == 0 {
		keep = f.used // reset again (load resets too): the slots still hold the last event's
	}
	f.vals = f.vals[:0]
	if cap(f.vals) > maxKeptBuffer {
		f.vals, keep = nil, 0
	}
	f.used = max(f.used, len(f.entries))
	clear(f.entries[keep:f.used])
	f.entries, f.used = f.entries[:0], keep
	if cap(f.entries) > maxKeptSlots {
		f.entries, f.used = nil, 0
		f.trace, f.traceClean = nil, 0
	}
	f.keys = trimmed(f.keys, maxKeptBuffer)
	f.journal = trimmed(f.journal, maxKeptSlots)
	f.members = trimmed(f.members, maxKeptSlots)
	f.dirty = false
	f.input = nil
	f.same = 0
	f.maybeReserved = false
	f.refused = nil
	f.source, f.sourceEnd = nil, 0
}

// SetString sets key to the string val (Setter).
func (f *fieldSet) SetString(key string, val []byte) {
	f.setKey(key, f.copyVal(val), kindString)
}

// SetRaw sets key to one JSON value (Setter).
func (f *fieldSet) SetRaw(key string, raw []byte) {
	f.setKey(key, f.copyVal(raw), kindRaw)
}

// setKey is put for a key given as a string, whose bytes never change: the event's keys mostly come in the
// order and with the strings of the last event's, which lets it skip put's comparisons (see fieldSet.trace).
func (f *fieldSet) setKey(key string, val []byte, kind valueKind) {
	n, p := len(f.entries), unsafe.StringData(key)
	if f.same == n && n < f.traceClean {
		if t := &f.trace[n]; t.p == p && t.n == len(key) {
			f.dirty = true
			f.push(&entry{key: unsafe.Slice(p, len(key)), val: val, top: t.top, kind: kind, stable: true})
			f.same++
			return
		}
	}
	if key == "" || !utf8.ValidString(key) {
		f.put(f.copyKey("", key), val, kind)
		return
	}
	f.putTraced(unsafe.Slice(p, len(key)), val, kind, true)
}

// appendKey stores prefix.key (key alone when prefix is empty) and returns it. Invalid UTF-8 in key is replaced
// with U+FFFD here, as rendering would, so that two keys that render alike are one key.
func (f *fieldSet) appendKey(prefix, key string) []byte {
	if prefix == "" && utf8.ValidString(key) {
		// A string's bytes never change: the key needs no copy. Nothing writes through an entry's key.
		return unsafe.Slice(unsafe.StringData(key), len(key))
	}
	return f.copyKey(prefix, key)
}

// copyKey is appendKey always storing the key at the end of f.keys, so that more can be appended to it.
func (f *fieldSet) copyKey(prefix, key string) []byte {
	start := len(f.keys)
	if prefix != "" {
		f.keys = append(f.keys, prefix...)
		if key != "" {
			f.keys = append(f.keys, sep)
		}
	}
	if utf8.ValidString(key) {
		f.keys = append(f.keys, key...)
	} else {
		for _, r := range key { // ranging over a string yields U+FFFD for each invalid byte
			f.keys = utf8.AppendRune(f.keys, r)
		}
	}
	return f.keys[start:len(f.keys):len(f.keys)]
}

// copyVal keeps val: as it is when it lies in the input being parsed, which stays until reset, else a copy (it
// may be a parser's own buffer, reused once the call returns).
func (f *fieldSet) copyVal(val []byte) []byte {
	if within(val, f.input) {
		return val[:len(val):len(val)]
	}
	start := len(f.vals)
	f.vals = append(f.vals, val...)
	return f.vals[start:len(f.vals):len(f.vals)]
}

// within reports whether b lies inside outer's bytes (b empty: no).
func within(b, outer []byte) bool {
	if len(b) == 0 || len(outer) == 0 {
		return false
	}
	p, o := uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(unsafe.Pointer(unsafe.SliceData(outer)))
	return p >= o && p+uintptr(len(b)) <= o+uintptr(len(outer))
}

// mark starts a journal of the entries removed from here on; undo restores the set to the mark.
func (f *fieldSet) mark() (entries, journal int) {
	return len(f.entries), len(f.journal)
}

func (f *fieldSet) undo(entries, journal int) {
	for i := len(f.journal) - 1; i >= journal; i-- {
		c := f.journal[i]
		f.entries[c.i].kind = c.kind
	}
	f.journal = f.journal[:journal]
	clear(f.entries[entries:])
	f.entries = f.entries[:entries]
	f.same = min(f.same, entries)
}

// remove deletes entry i.
func (f *fieldSet) remove(i int) {
	f.journal = append(f.journal, change{i: i, kind: f.entries[i].kind})
	f.entries[i].kind = kindGone
	f.dirty = true
}

// under reports whether key lies strictly under prefix: "a.b" under "a".
func under(key, prefix []byte) bool {
	return len(key) > len(prefix) && key[len(prefix)] == sep && bytes.HasPrefix(key, prefix)
}

// put sets key (already stored) to val, keeping the invariant.
func (f *fieldSet) put(key, val []byte, kind valueKind) {
	f.putTraced(key, val, kind, false)
}

// putTraced is put; stable says that key is a string's bytes, which never change, so that the trace may keep
// it.
func (f *fieldSet) putTraced(key, val []byte, kind valueKind, stable bool) {
	if len(f.entries) >= maxFields || bytes.Count(key, dot) >= maxDepth {
		f.refuseKey(key)
		return
	}
	f.store(key, val, kind, stable)
}

// refuseKey records why key, past a bound, was left out.
func (f *fieldSet) refuseKey(key []byte) {
	if len(f.entries) >= maxFields {
		f.refuse(errTooManyFields)
		return
	}
	f.refuse(fmt.Errorf("field name %s has more than %d dotted parts", clipped(key), maxDepth))
}

// clipped quotes name for an error, its first 40 bytes when it is longer.
func clipped(name []byte) string {
	if len(name) > 40 {
		return fmt.Sprintf("%q...", name[:40])
	}
	return fmt.Sprintf("%q", name)
}

// refuse records why a key was left out, the first reason only.
func (f *fieldSet) refuse(err error) {
	if f.refused == nil {
		f.refused = err
	}
}

// store is putTraced without its bounds.
func (f *fieldSet) store(key, val []byte, kind valueKind, stable bool) {
	f.dirty = true
	top := sigOf(key)
	related := false // to any entry, deleted ones too: the trace is of keys, whatever became of them
	// Entries appended by an explosion are checked too: the loop reads the length each time.
	for i := 0; i < len(f.entries); i++ {
		e := &f.entries[i]
		switch {
		case e.top != top:
		case bytes.Equal(e.key, key) || under(e.key, key):
			related = true
			if e.kind != kindGone {
				f.remove(i)
			}
		case under(key, e.key):
			related = true
			if e.kind != kindGone && !f.explode(i) {
				f.remove(i)
			}
		}
	}
	f.appendEntry(entry{key: key, val: val, top: top, kind: kind, stable: stable}, !related)
}

// push appends e. Its fields are stored one by one, pointers only when they changed: appending a whole entry
// copies it with a bulk write barrier while the collector marks, which costs several times more, and the slot
// mostly holds the last event's entry at the same place, with the same key.
func (f *fieldSet) push(e *entry) {
	n := len(f.entries)
	if n == cap(f.entries) {
		f.entries = append(f.entries, entry{})
	} else {
		f.entries = f.entries[:n+1]
	}
	d := &f.entries[n]
	if unsafe.SliceData(d.key) != unsafe.SliceData(e.key) || len(d.key) != len(e.key) || cap(d.key) != cap(e.key) {
		d.key = e.key
	}
	d.val, d.top, d.kind, d.stable = e.val, e.top, e.kind, e.stable
	switch e.top {
	case timestampSig, idSig, inputSig, logSig, deadSig:
		f.maybeReserved = true
	}
}

// appendEntry appends e, which no live entry's key is equal to, above or under. unrelated says that no entry's
// key, deleted ones too, is equal to, above or under it: the trace then takes a stable e.key.
func (f *fieldSet) appendEntry(e entry, unrelated bool) {
	n := len(f.entries)
	f.push(&e)
	if !e.stable || !unrelated || f.same != n || n > f.traceClean {
		return // this event's keys left the trace's before: the trace stays as it is
	}
	// The event's keys are the trace's up to here, and none is related to e.key: the trace goes on with it.
	t := traced{p: unsafe.SliceData(e.key), n: len(e.key), top: e.top}
	if n < f.traceClean && f.trace[n] == t {
		f.same++
		return
	}
	if n < len(f.trace) {
		f.trace[n] = t
	} else {
		f.trace = append(f.trace, t)
	}
	f.traceClean, f.same = n+1, n+1
}

// isObject reports whether entry e holds a raw object.
func (e *entry) isObject() bool {
	return e.kind == kindRaw && len(e.val) > 0 && e.val[0] == '{'
}

// explode replaces entry i, a raw object, with one entry per member, and reports whether it was one.
func (f *fieldSet) explode(i int) bool {
	e := f.entries[i]
	if !e.isObject() {
		return false
	}
	// The members are read first and set after: setting one may explode another object, whose members are
	// pushed after these.
	base := f.readMembers(e.key, true, e.val)
	f.remove(i)
	f.putMembers(base)
	return true
}

// readMembers pushes the members of the raw object obj onto f.members, their keys under prefix when nested
// (else the members' names alone), and returns where they start. What follows a malformed member is left out:
// the set's raw objects come from JSON parsers and sources, which only hand on valid JSON.
func (f *fieldSet) readMembers(prefix []byte, nested bool, obj []byte) int {
	base := len(f.members)
	// Names come decoded (invalid UTF-8 replaced); a name twice is passed twice, and put keeps the last.
	_ = jsonscan.Members(obj, jsonscan.MaxDepth, func(name, val []byte) error {
		start := len(f.keys)
		if nested {
			f.keys = append(f.keys, prefix...)
			f.keys = append(f.keys, sep)
		}
		f.keys = append(f.keys, name...)
		f.members = append(f.members, member{key: f.keys[start:len(f.keys):len(f.keys)], val: val, kind: kindRaw})
		return nil
	})
	return base
}

// putMembers sets the members pushed from base on, in order, and pops them.
func (f *fieldSet) putMembers(base int) {
	for j := base; j < len(f.members); j++ {
		m := f.members[j]
		f.put(m.key, m.val, m.kind)
	}
	clear(f.members[base:])
	f.members = f.members[:base]
}

// find returns the index of the live entry at key, or -1.
func (f *fieldSet) find(key string) int {
	for i := range f.entries {
		if e := &f.entries[i]; e.kind != kindGone && string(e.key) == key {
			return i
		}
	}
	return -1
}

// lookup is find that looks into raw objects: an entry above key that holds one is exploded and key looked
// for again.
func (f *fieldSet) lookup(key string) int {
	for {
		if i := f.find(key); i >= 0 {
			return i
		}
		above := -1
		k := unsafe.Slice(unsafe.StringData(key), len(key))
		for i := range f.entries {
			if e := &f.entries[i]; e.isObject() && under(k, e.key) {
				above = i
				break
			}
		}
		if above < 0 || !f.explode(above) {
			return -1
		}
	}
}

// hasUnder reports whether some live entry lies under key.
func (f *fieldSet) hasUnder(key []byte) bool {
	for i := range f.entries {
		if e := &f.entries[i]; e.kind != kindGone && under(e.key, key) {
			return true
		}
	}
	return false
}

// text returns the value at key as text: a string's bytes, a raw string unquoted, any other JSON value as its
// JSON text, and the fields under key as a JSON object. The bytes stay valid until the set is reset.
func (f *fieldSet) text(key string) ([]byte, bool) {
	if i := f.lookup(key); i >= 0 {
		return f.entryText(i), true
	}
	k := unsafe.Slice(unsafe.StringData(key), len(key))
	if !f.hasUnder(k) {
		return nil, false
	}
	start := len(f.vals)
	f.vals = f.appendObject(f.vals, k)
	return f.vals[start:len(f.vals):len(f.vals)], true
}

// entryText is text for entry i.
func (f *fieldSet) entryText(i int) []byte {
	e := &f.entries[i]
	if e.kind == kindRaw && len(e.val) > 0 && e.val[0] == '"' {
		start := len(f.vals)
		// The value was read whole as JSON: its escapes are valid. Invalid UTF-8 is replaced.
		f.vals, _ = jsonscan.AppendUnescaped(f.vals, e.val[1:len(e.val)-1])
		return f.vals[start:len(f.vals):len(f.vals)]
	}
	return e.val
}

// exists reports whether key has a value or fields under it.
func (f *fieldSet) exists(key string) bool {
	return f.lookup(key) >= 0 || f.hasUnder(unsafe.Slice(unsafe.StringData(key), len(key)))
}

// delete removes key and everything under it, and reports whether there was anything.
func (f *fieldSet) delete(key string) bool {
	f.lookup(key) // explodes the object key lies in, if any
	k := unsafe.Slice(unsafe.StringData(key), len(key))
	found := false
	for i := range f.entries {
		if e := &f.entries[i]; e.kind != kindGone && (bytes.Equal(e.key, k) || under(e.key, k)) {
			f.remove(i)
			found = true
		}
	}
	return found
}

// rename moves key and everything under it to to (replacing what is there), and reports whether there was
// anything to move.
func (f *fieldSet) rename(from, to string) bool {
	f.lookup(from)
	k := unsafe.Slice(unsafe.StringData(from), len(from))
	base := len(f.members)
	for i := range f.entries {
		e := &f.entries[i]
		if e.kind == kindGone || !(bytes.Equal(e.key, k) || under(e.key, k)) {
			continue
		}
		start := len(f.keys)
		f.copyKey("", to) // to's invalid UTF-8 replaced, as in every key
		f.keys = append(f.keys, e.key[len(k):]...)
		f.members = append(f.members, member{key: f.keys[start:len(f.keys):len(f.keys)], val: e.val, kind: e.kind})
		f.remove(i)
	}
	found := len(f.members) > base
	f.putMembers(base)
	return found
}
