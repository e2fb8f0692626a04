package processors

import (
	"sync"
	"unsafe"

	"github.com/flickerlog/flicker/engine"
)

// streamMembers are the top-level members of a stream's Extra and of its input's configured fields, read once
// per stream: a field that shares a name with one of them is merged with it (see fieldSet.mergeStream).
type streamMembers struct {
	members []member
}

// streamKey names the bytes a streamMembers was read from. The bytes are rendered once per stream and never
// changed, so their address and length identify them.
type streamKey struct {
	extra, fields       *byte
	extraLen, fieldsLen int
}

func keyOf(st *engine.Stream) streamKey {
	k := streamKey{extra: unsafe.SliceData(st.Extra), extraLen: len(st.Extra)}
	if st.Input != nil {
		k.fields, k.fieldsLen = unsafe.SliceData(st.Input.FieldsJSON), len(st.Input.FieldsJSON)
	}
	return k
}

// maxCachedStreams bounds the cache; past it, it starts over (the streams of one input are few at a time).
const maxCachedStreams = 1024

// streamCache maps streams to their members. Each scratch remembers the last one it used, so the lock is taken
// only when the stream changes.
type streamCache struct {
	mu sync.Mutex
	m  map[streamKey]*streamMembers
}

// get returns the members of st's stream bytes, nil when it has none.
func (c *streamCache) get(st *engine.Stream, s *scratch) *streamMembers {
	k := keyOf(st)
	if k.extraLen == 0 && k.fieldsLen == 0 {
		return nil
	}
	if s.lastStream == k {
		return s.lastMembers
	}
	c.mu.Lock()
	sm, ok := c.m[k]
	c.mu.Unlock()
	if !ok {
		sm = readStreamMembers(st)
		c.mu.Lock()
		if c.m == nil || len(c.m) >= maxCachedStreams {
			c.m = make(map[streamKey]*streamMembers)
		}
		c.m[k] = sm
		c.mu.Unlock()
	}
	s.lastStream, s.lastMembers = k, sm
	return sm
}

// readStreamMembers reads the members of st.Extra and st.Input.FieldsJSON into their own memory.
func readStreamMembers(st *engine.Stream) *streamMembers {
	var f fieldSet
	var obj []byte
	all := [][]byte{st.Extra}
	if st.Input != nil {
		all = append(all, st.Input.FieldsJSON)
	}
	for _, b := range all {
		if len(b) > 1 {
			obj = append(append(append(obj[:0], '{'), b[1:]...), '}')
			f.readMembers(nil, false, append([]byte(nil), obj...))
		}
	}
	return &streamMembers{members: f.members}
}
