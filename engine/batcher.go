package engine

import (
	"sync"
	"sync/atomic"
	"time"
)

// chunk holds the events of one batch as cut by the batcher. Every output reads the same chunk through a Batch of
// its own; the last output to settle it returns it to the pool.
type chunk struct {
	events []Event // copies of the published events, with their sequence numbers
	bytes  int64
	skip   uint64       // outputs that are done with some of the events already (the union of their Event.skip)
	refs   atomic.Int32 // outputs that have not settled the chunk yet
}

// batcher cuts published events into chunks by count, bytes and age and hands each chunk to every output.
// Publish appends under mu; the age loop cuts a chunk that waited MaxWait.
type batcher struct {
	limits  BatchLimits
	outs    []*output // fan-out targets: the configured outputs
	chunks  sync.Pool
	kick    chan struct{} // an empty chunk got its first event: arm the age timer
	stopped chan struct{} // closed by stop: the age loop ends

	mu      sync.Mutex
	cur     *chunk
	started time.Time // when cur got its first event
	closed  bool      // stop was called; Publish no longer appends
}

func newBatcher(limits BatchLimits, outs []*output) *batcher {
	b := &batcher{limits: limits, outs: outs, kick: make(chan struct{}, 1), stopped: make(chan struct{})}
	b.chunks.New = func() any { return &chunk{events: make([]Event, 0, limits.MaxEvents)} }
	b.cur = b.chunks.Get().(*chunk)
	return b
}

// add appends evs to the current chunk, assigning each event its stream sequence number under the stream's lock
// (taken once per run of events of one stream), and cuts chunks as they fill. A filtered event (Event.Filtered)
// gets its sequence number and stays out of every chunk: no output sees it, and the stream is acknowledged past
// it here when nothing before it is pending. It returns the room to give back to the queue: the events skipped
// as invalid (no stream) and the filtered ones already passed by their stream's acknowledgement. It reports
// false when the batcher was stopped and nothing was appended.
func (b *batcher) add(evs []Event) (invalid, freed room, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return room{}, room{}, false
	}
	outputs := int32(len(b.outs))
	var st *Stream
	filtered := false // st got a filtered event: acknowledge before letting go of its lock
	release := func() {
		if filtered {
			r := st.ackLocked()
			freed.events += r.events
			freed.bytes += r.bytes
		}
		st.track.mu.Unlock()
	}
	for i := range evs {
		ev := &evs[i]
		size := ev.Size()
		if ev.Stream == nil {
			invalid.events++
			invalid.bytes += size
			continue
		}
		if ev.Stream != st {
			if st != nil {
				release()
			}
			st, filtered = ev.Stream, false
			st.track.mu.Lock()
		}
		if ev.Filtered {
			st.track.pushFiltered(ev.Pos, size, ev.ID, outputs)
			filtered = true
			continue
		}
		c := b.cur
		if len(c.events) > 0 && c.bytes+size > b.limits.MaxBytes {
			b.cutLocked()
			c = b.cur
		}
		seq, skip := st.track.push(ev.Pos, size, ev.ID, outputs)
		if len(c.events) == 0 {
			b.started = time.Now()
			select {
			case b.kick <- struct{}{}:
			default:
			}
		}
		c.events = append(c.events, *ev)
		c.events[len(c.events)-1].seq = seq
		c.events[len(c.events)-1].skip = skip
		c.skip |= skip
		c.bytes += size
		if len(c.events) >= b.limits.MaxEvents {
			b.cutLocked()
		}
	}
	if st != nil {
		release()
	}
	return invalid, freed, true
}

// cutLocked hands the current chunk to every output and starts a new one. Handing over never blocks: the queue
// bounds what the outputs' lists hold. The caller holds mu, which keeps chunks in publish order in every list.
func (b *batcher) cutLocked() {
	c := b.cur
	if len(c.events) == 0 {
		return
	}
	c.refs.Store(int32(len(b.outs)))
	for _, o := range b.outs {
		o.enqueueChunk(c)
	}
	b.cur = b.chunks.Get().(*chunk)
}

// flush cuts the current chunk if it holds events: a Publish about to wait for room calls it, since the events
// the queue waits for may be those in the chunk.
func (b *batcher) flush() {
	b.mu.Lock()
	b.cutLocked()
	b.mu.Unlock()
}

// stop cuts the last chunk and refuses further events. The age loop ends.
func (b *batcher) stop() {
	b.mu.Lock()
	b.cutLocked()
	b.closed = true
	b.mu.Unlock()
	close(b.stopped)
}

// putChunk returns a chunk every output has settled. Clearing drops the references to the events' bytes, so the
// sources' buffers can be collected.
func (b *batcher) putChunk(c *chunk) {
	clear(c.events)
	c.events = c.events[:0]
	c.bytes, c.skip = 0, 0
	b.chunks.Put(c)
}

// ageLoop cuts a chunk once its first event waited MaxWait. Run owns it; it ends when stop is called.
func (b *batcher) ageLoop() {
	t := time.NewTimer(b.limits.MaxWait)
	t.Stop()
	armed := false
	for {
		select {
		case <-b.stopped:
			t.Stop()
			return
		case <-b.kick:
			if !armed {
				t.Reset(b.limits.MaxWait)
				armed = true
			}
		case <-t.C:
			armed = false
			b.mu.Lock()
			if len(b.cur.events) > 0 {
				if wait := b.limits.MaxWait - time.Since(b.started); wait > 0 {
					t.Reset(wait)
					armed = true
				} else {
					b.cutLocked()
				}
			}
			b.mu.Unlock()
		}
	}
}
