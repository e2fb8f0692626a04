package file

import (
	"sync"
	"sync/atomic"
)

// arenaChunk is the size of the chunks that read data and decoded messages live in. A chunk is only appended
// to while it is an arena's current chunk: bytes handed out in events are never written again while anyone can
// read them. Events are therefore not allocated one by one.
const arenaChunk = 1 << 20

// maxFreeChunks bounds the spare chunks a source keeps for reuse, and so the memory it holds beyond what its
// pending events and partial lines need.
const maxFreeChunks = 8

// chunk is one arena buffer with a count of who can still read it:
//   - the arena, while the chunk is its current one;
//   - a tracked file whose partial line lies in it;
//   - each per-stream use (chunkUse): one reference for all of a stream's events in the chunk up to a position,
//     dropped when the stream's acknowledgement reaches that position;
//   - a use of the batch being collected, until publish hands it to its stream.
//
// When the count drops to zero, nothing published from the chunk can be read any more and the chunk goes back
// to its pool. A chunk whose events are never acknowledged (a run stopped before its pipeline drained) never
// reaches zero: it is left to the garbage collector with the Source.
type chunk struct {
	buf  []byte // capacity arenaChunk (pooled) or more (one oversized message or line; never pooled)
	refs atomic.Int64
}

// chunkPool recycles a source's chunks. get runs on the reader goroutine; release also on the engine's output
// goroutines, from acknowledgements.
type chunkPool struct {
	mu   sync.Mutex
	free []*chunk

	allocated, reused atomic.Uint64
	// uses counts chunk uses held for published events; zero once every published event was acknowledged.
	uses atomic.Int64
	// poison overwrites chunks as they are freed, so that tests see a premature reuse even when the new bytes
	// would equal the old ones.
	poison bool
}

// get returns a chunk of at least n bytes' capacity with one reference, the caller's.
func (p *chunkPool) get(n int) *chunk {
	var c *chunk
	if n <= arenaChunk {
		p.mu.Lock()
		if k := len(p.free); k > 0 {
			c = p.free[k-1]
			p.free[k-1] = nil
			p.free = p.free[:k-1]
		}
		p.mu.Unlock()
	}
	if c != nil {
		p.reused.Add(1)
	} else {
		c = &chunk{buf: make([]byte, 0, max(arenaChunk, n))}
		p.allocated.Add(1)
	}
	c.refs.Store(1)
	return c
}

// release drops one reference to c; the last one puts c back into the pool.
func (p *chunkPool) release(c *chunk) {
	n := c.refs.Add(-1)
	if n > 0 {
		return
	}
	if n < 0 {
		panic("file: arena chunk released more often than referenced")
	}
	if cap(c.buf) != arenaChunk {
		return // oversized: left to the garbage collector
	}
	if p.poison {
		b := c.buf[:arenaChunk]
		b[0] = 0xA5
		for i := 1; i < len(b); i *= 2 {
			copy(b[i:], b[:i])
		}
	}
	p.mu.Lock()
	if len(p.free) < maxFreeChunks {
		p.free = append(p.free, c)
	}
	p.mu.Unlock()
}

// arena hands out bytes from its current chunk. Owned by the reader goroutine.
type arena struct {
	buf  []byte // the current chunk's bytes: handed out up to len, free up to cap
	cur  *chunk
	pool *chunkPool
}

// ensure makes room for n more bytes, starting a new chunk when the current one is too full. The arena's
// reference to the old chunk is dropped: slices into it stay valid for as long as their holders' references.
// An arena that has no chunk yet gets one even for n == 0: an empty message is referenced in it as any other.
func (a *arena) ensure(n int) {
	if a.cur != nil && cap(a.buf)-len(a.buf) >= n {
		return
	}
	old := a.cur
	a.cur = a.pool.get(n)
	a.buf = a.cur.buf[:0]
	if old != nil {
		a.pool.release(old)
	}
}

// tail returns the current chunk's free space, which the caller appends to and hands back to commit.
func (a *arena) tail() []byte { return a.buf[len(a.buf):] }

// commit accepts b, which was appended to tail() within its capacity, and returns it capped so that appending
// to the returned slice can never write into the arena.
func (a *arena) commit(b []byte) []byte {
	start := len(a.buf)
	a.buf = a.buf[:start+len(b)]
	return a.buf[start : start+len(b) : start+len(b)]
}

// chunkUse is a reference to chunk c for the events of one stream in c up to position last. With after set, the
// last of them shares its position with an earlier event of the stream: the engine acknowledges a position once,
// when the first event at it is done, so only an acknowledgement beyond last covers it.
type chunkUse struct {
	c     *chunk
	last  int64
	after bool
}

// coveredBy reports whether an acknowledgement of pos covers every event of the use.
func (u *chunkUse) coveredBy(pos int64) bool { return u.last < pos || (u.last == pos && !u.after) }

// streamChunks is the FIFO of a stream's chunk uses, in position order. The reader goroutine pushes a batch's
// uses before publishing it; the stream's acknowledgement pops the uses it covers.
type streamChunks struct {
	pool *chunkPool
	mu   sync.Mutex
	q    []chunkUse
	head int
}

// push adds use u, taking over the caller's reference to its chunk. A use of the same chunk at the tail is
// extended instead: its reference then covers the new events too, and the caller's is dropped.
func (sc *streamChunks) push(u chunkUse) {
	c := u.c
	sc.mu.Lock()
	if n := len(sc.q); n > sc.head && sc.q[n-1].c == c {
		sc.q[n-1].last, sc.q[n-1].after = u.last, u.after
		sc.mu.Unlock()
		sc.pool.release(c) // the tail's reference remains: the count cannot reach zero here
		return
	}
	if sc.head > 0 && sc.head*2 >= len(sc.q) {
		n := copy(sc.q, sc.q[sc.head:])
		clear(sc.q[n:])
		sc.q, sc.head = sc.q[:n], 0
	}
	sc.q = append(sc.q, u)
	sc.pool.uses.Add(1)
	sc.mu.Unlock()
}

// ack drops the uses whose events are all acknowledged by pos: the engine acknowledges pos only once every
// output is done with every event of the stream up to it. Called under the engine's stream lock.
func (sc *streamChunks) ack(pos int64) {
	sc.mu.Lock()
	for sc.head < len(sc.q) && sc.q[sc.head].coveredBy(pos) {
		c := sc.q[sc.head].c
		sc.q[sc.head] = chunkUse{}
		sc.head++
		sc.pool.uses.Add(-1)
		sc.pool.release(c)
	}
	if sc.head == len(sc.q) {
		sc.q, sc.head = sc.q[:0], 0
	}
	sc.mu.Unlock()
}

// pendingUse is a chunk use of the batch being collected, not yet handed to its stream.
type pendingUse struct {
	sc *streamChunks
	chunkUse
}

// use records that an event of stream sc at position pos (after: not the stream's first event at pos) has its
// message in c. It takes a reference for a new (stream, chunk) run of the batch; publish hands the batch's uses
// to their streams.
func (s *Source) use(sc *streamChunks, c *chunk, pos int64, after bool) {
	if n := len(s.uses); n > 0 && s.uses[n-1].sc == sc && s.uses[n-1].c == c {
		s.uses[n-1].last, s.uses[n-1].after = pos, after
		return
	}
	c.refs.Add(1)
	s.uses = append(s.uses, pendingUse{sc: sc, chunkUse: chunkUse{c: c, last: pos, after: after}})
}

// pushUses hands the collected batch's chunk uses to their streams. It runs before Publish, since
// acknowledgements of the batch's first events can arrive while Publish still blocks on the rest.
func (s *Source) pushUses() {
	for i := range s.uses {
		u := &s.uses[i]
		u.sc.push(u.chunkUse)
	}
	clear(s.uses)
	s.uses = s.uses[:0]
}

// setPartial makes b, whose bytes lie in chunk c, t's partial line, holding a reference to c while b is not
// empty.
func (s *Source) setPartial(t *tracked, b []byte, c *chunk) {
	if len(b) == 0 {
		c = nil
	}
	if c != t.partialChunk {
		if c != nil {
			c.refs.Add(1)
		}
		if t.partialChunk != nil {
			s.pool.release(t.partialChunk)
		}
		t.partialChunk = c
	}
	t.partial = b
}
