package processors

import (
	"bytes"
	"unsafe"

	"github.com/flickerlog/flicker/internal/eventjson"
)

// shape remembers the layout of the last event a renderer wrote: the keys, in order, and the output with the
// values cut out. The events of one input mostly have the same keys in the same order (a dissect pattern sets the
// same fields every time), so the next event with those keys is written by filling the values in, without
// grouping its keys into objects again.
type shape struct {
	keys  []byte  // the keys written, one after the other: the log ones, then the top-level ones
	ends  []int   // where each key ends in keys
	ptrs  []*byte // per key, the address of a stable entry's key (entry.stable), else nil
	nLog  int     // how many of the keys went into the log object
	log   template
	extra template
	ok    bool
}

// template is an output with its values cut out.
type template struct {
	lits []byte
	cuts []cut
}

// cut is where a value goes in a template's lits, and whose: an index into the shape's keys.
type cut struct{ at, key int }

// valueSpan is where a leaf's value was written while a shape is recorded.
type valueSpan struct{ start, end, entry int }

// matches reports whether the keys of the entries listed are the shape's, in order.
func (s *shape) matches(f *fieldSet, logList, top []int) bool {
	if !s.ok || s.nLog != len(logList) || len(s.ends) != len(logList)+len(top) {
		return false
	}
	start := 0
	for i, end := range s.ends {
		var ei int
		if i < len(logList) {
			ei = logList[i]
		} else {
			ei = top[i-len(logList)]
		}
		e := &f.entries[ei]
		// A stable key at the address and length of the last one is that key, whose bytes never change.
		same := e.stable && s.ptrs[i] == unsafe.SliceData(e.key) && len(e.key) == end-start
		if !same && !bytes.Equal(e.key, s.keys[start:end]) {
			return false
		}
		start = end
	}
	return true
}

// record keeps the keys of the entries listed and the templates of out, written from logBase on: the log
// members up to logEnd, the others after, with their values at spans (the first nLogSpans in the log ones).
func (s *shape) record(f *fieldSet, logList, top []int, ord []int, out []byte, logBase, logEnd int,
	spans []valueSpan, nLogSpans int) {
	s.keys, s.ends, s.ptrs = s.keys[:0], s.ends[:0], s.ptrs[:0]
	for _, list := range [2][]int{logList, top} {
		for _, ei := range list {
			e := &f.entries[ei]
			s.keys = append(s.keys, e.key...)
			s.ends = append(s.ends, len(s.keys))
			var p *byte
			if e.stable {
				p = unsafe.SliceData(e.key)
			}
			s.ptrs = append(s.ptrs, p)
		}
	}
	s.nLog = len(logList)
	s.log.cutFrom(out[logBase:logEnd], spans[:nLogSpans], logBase, ord)
	s.extra.cutFrom(out[logEnd:], spans[nLogSpans:], logEnd, ord)
	s.ok = true
}

// cutFrom makes t of out, whose values are at spans (offsets from base).
func (t *template) cutFrom(out []byte, spans []valueSpan, base int, ord []int) {
	t.lits, t.cuts = t.lits[:0], t.cuts[:0]
	pos := 0
	for _, sp := range spans {
		t.lits = append(t.lits, out[pos:sp.start-base]...)
		t.cuts = append(t.cuts, cut{at: len(t.lits), key: ord[sp.entry]})
		pos = sp.end - base
	}
	t.lits = append(t.lits, out[pos:]...)
}

// fill appends the template with the values of the entries listed.
func (t *template) fill(dst []byte, f *fieldSet, logList, top []int) []byte {
	pos := 0
	for _, c := range t.cuts {
		dst = append(dst, t.lits[pos:c.at]...)
		var ei int
		if c.key < len(logList) {
			ei = logList[c.key]
		} else {
			ei = top[c.key-len(logList)]
		}
		if e := &f.entries[ei]; e.kind == kindString {
			dst = eventjson.AppendString(dst, e.val)
		} else {
			dst = appendValue(dst, e)
		}
		pos = c.at
	}
	return append(dst, t.lits[pos:]...)
}
