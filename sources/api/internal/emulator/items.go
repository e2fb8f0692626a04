package emulator

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Item is what a Server keeps of every item; an API's item type embeds it.
type Item struct {
	ID   string // unique
	JSON []byte // exactly what the API serves
}

func (it *Item) item() *Item { return it }

// Record is a pointer to an API's item type, which embeds Item.
type Record interface{ item() *Item }

// AppendArray appends the JSON array of the items' bodies to buf, growing it once, with room for a short
// trailer such as a next cursor.
func AppendArray[T Record](buf []byte, items []T) []byte {
	size := 256
	for _, it := range items {
		size += len(it.item().JSON) + 1
	}
	buf = slices.Grow(buf, size)
	buf = append(buf, '[')
	for i, it := range items {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, it.item().JSON...)
	}
	return append(buf, ']')
}

// NewUUID returns a random version 4 UUID.
func NewUUID() string {
	hi, lo := rand.Uint64(), rand.Uint64()
	hi = hi&^0xf000 | 0x4000     // version 4
	lo = lo&^(0xc<<60) | 0x8<<60 // RFC 4122 variant
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, hi>>16&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}

// RandomText is n letters and digits that do not compress away, so that padded pages cost what real ones do.
func RandomText(n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, max(n, 0))
	for i := 0; i < len(b); i += 8 {
		r := rand.Uint64()
		for j := i; j < i+8 && j < len(b); j++ {
			b[j] = letters[r%uint64(len(letters))]
			r >>= 8
		}
	}
	return string(b)
}

// Clock is a settable time source for an emulator's Now option, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
