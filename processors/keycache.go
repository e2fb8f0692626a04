package processors

import (
	"sync"
	"sync/atomic"
)

// keyCacheMax bounds the keys a cache keeps, so that values with ever-new keys cost an allocation per key
// rather than memory without end.
const keyCacheMax = 1024

// keyCache turns the keys a parser reads from values (logfmt keys, JSON member names) into strings made once:
// Setter keys are strings, and a line of known keys should allocate nothing. The map is copied on write, so
// reads take no lock; the zero value is ready to use and safe for concurrent use.
type keyCache struct {
	keys atomic.Pointer[map[string]string]
	mu   sync.Mutex
}

// get returns b as a string.
func (c *keyCache) get(b []byte) string {
	if m := c.keys.Load(); m != nil {
		if k, ok := (*m)[string(b)]; ok {
			return k
		}
	}
	k := string(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	var old map[string]string
	if m := c.keys.Load(); m != nil {
		old = *m
	}
	if _, ok := old[k]; ok || len(old) >= keyCacheMax {
		return k
	}
	keys := make(map[string]string, len(old)+1)
	for o := range old {
		keys[o] = o
	}
	keys[k] = k
	c.keys.Store(&keys)
	return k
}
