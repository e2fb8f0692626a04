package api

import (
	"sync"
)

// MaxRecentIDs bounds Cursor.RecentIDs: the ids of the most recently delivered items, enough to skip a whole
// page read again (Okta's largest page is 1000 items).
const MaxRecentIDs = 1000

// recentIDs are the ids of the most recently published items, oldest first, with a set to look them up. Owned
// by the poller goroutine.
type recentIDs struct {
	ring []string // len <= MaxRecentIDs; once full, head is the oldest
	head int
	set  map[string]struct{}
}

func newRecentIDs(ids []string) *recentIDs {
	r := &recentIDs{ring: make([]string, 0, MaxRecentIDs), set: make(map[string]struct{}, MaxRecentIDs)}
	if len(ids) > MaxRecentIDs {
		ids = ids[len(ids)-MaxRecentIDs:]
	}
	for _, id := range ids {
		r.add(id)
	}
	return r
}

func (r *recentIDs) has(id string) bool {
	_, ok := r.set[id]
	return ok
}

func (r *recentIDs) add(id string) {
	if _, ok := r.set[id]; ok {
		return
	}
	r.set[id] = struct{}{}
	if len(r.ring) < MaxRecentIDs {
		r.ring = append(r.ring, id)
		return
	}
	delete(r.set, r.ring[r.head])
	r.ring[r.head] = id
	r.head = (r.head + 1) % MaxRecentIDs
}

// snapshot returns the ids oldest first, in new memory (a Cursor handed to the registry is never modified).
func (r *recentIDs) snapshot() []string {
	out := make([]string, 0, len(r.ring))
	out = append(out, r.ring[r.head:]...)
	return append(out, r.ring[:r.head]...)
}

// checkpoint is the cursor after a published page, saved once the page's last event (pos) is acknowledged.
type checkpoint struct {
	pos    int64
	events int64 // how many events the page published: its first is at pos - events + 1
	cursor Cursor
	// before is the cursor the page was requested with: while only its first events are done, the page is
	// requested again from it, and their ids, among the recent ones, are skipped.
	before Cursor
	buf    []byte // the page's body, recycled once every event in it is done
}

// checkpoints orders a poller's cursors by position and saves each once its page is done everywhere. add and
// advance are called by the poller goroutine, ack by the engine from output goroutines.
type checkpoints struct {
	input string
	reg   Registry
	pool  *bufferPool
	saved func() // counts a save

	mu      sync.Mutex
	pending []checkpoint
}

// add registers the checkpoint of a page about to be published.
func (c *checkpoints) add(cp checkpoint) {
	c.mu.Lock()
	c.pending = append(c.pending, cp)
	c.mu.Unlock()
}

// drop forgets the checkpoint at pos: its page was not wholly published, so its last event is never
// acknowledged. The page is read again after a restart.
func (c *checkpoints) drop(pos int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.pending); n > 0 && c.pending[n-1].pos == pos {
		c.pending = c.pending[:n-1]
	}
}

// ack is the stream's acknowledgement: every event up to pos is done in every output. It saves the newest
// checkpoint it completes or, when pos ends inside a page, the page's partial cursor (partial). Quick and
// non-blocking: it runs under the stream's lock.
func (c *checkpoints) ack(pos int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	done := 0
	for done < len(c.pending) && c.pending[done].pos <= pos {
		done++
	}
	if done == 0 {
		c.savePartial(pos)
		return
	}
	last := c.pending[done-1].cursor
	for i := range done {
		c.pool.put(c.pending[i].buf)
		c.pending[i] = checkpoint{}
	}
	c.pending = c.pending[done:]
	if c.savePartial(pos) {
		return
	}
	c.reg.Save(c.input, last)
	c.saved()
}

// savePartial saves, when pos ends inside the oldest pending page, the cursor that requests that page again with
// the ids of its events up to pos among the recent ids, so that a restart skips exactly those: the engine's
// acknowledged position and the saved cursor agree at every event, not only at page ends (per-output event ids
// rely on it). It reports whether it saved. The caller holds mu.
func (c *checkpoints) savePartial(pos int64) bool {
	if len(c.pending) == 0 {
		return false
	}
	cp := &c.pending[0]
	rest := cp.pos - pos // the page's events not done yet
	ids := cp.cursor.RecentIDs
	// RecentIDs ends with the page's events, oldest first; with fewer recent ids than the page's events after
	// the first one done, the prefix would hold none of the page's done events.
	if rest >= cp.events || rest >= int64(len(ids)) {
		return false
	}
	c.reg.Save(c.input, Cursor{Next: cp.before.Next, LastTime: cp.before.LastTime, RecentIDs: ids[:int64(len(ids))-rest],
		Endpoint: cp.cursor.Endpoint, ParamsSum: cp.cursor.ParamsSum})
	c.saved()
	return true
}

// advance records a position reached without events (an empty page, or one whose items were all delivered
// before): it replaces the cursor of the newest pending checkpoint, whose acknowledgement then saves it, or is
// saved at once when nothing is pending.
func (c *checkpoints) advance(cur Cursor) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.pending); n > 0 {
		c.pending[n-1].cursor = cur
		return
	}
	c.reg.Save(c.input, cur)
	c.saved()
}

// Body buffers are recycled: at 1000 items a page, allocating each body anew would be most of the garbage.
const (
	maxPooledBuffer = 16 << 20 // larger buffers are left to the garbage collector
	maxPooledBytes  = 32 << 20 // the most the free list keeps
	minBuffer       = 64 << 10
)

// bufferPool keeps response buffers whose events are all acknowledged.
type bufferPool struct {
	mu    sync.Mutex
	free  [][]byte
	bytes int
}

// get returns an empty buffer, with room for size bytes when size > 0.
func (p *bufferPool) get(size int) []byte {
	p.mu.Lock()
	for i, b := range p.free {
		if cap(b) >= size {
			p.free[i] = p.free[len(p.free)-1]
			p.free[len(p.free)-1] = nil
			p.free = p.free[:len(p.free)-1]
			p.bytes -= cap(b)
			p.mu.Unlock()
			return b[:0]
		}
	}
	p.mu.Unlock()
	return make([]byte, 0, max(size, minBuffer))
}

func (p *bufferPool) put(b []byte) {
	if b == nil || cap(b) > maxPooledBuffer {
		return
	}
	p.mu.Lock()
	if p.bytes+cap(b) <= maxPooledBytes {
		p.free = append(p.free, b[:0])
		p.bytes += cap(b)
	}
	p.mu.Unlock()
}
