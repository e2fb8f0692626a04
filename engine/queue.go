package engine

import (
	"context"
	"sync"
)

// queue bounds the events the pipeline holds, in count and in bytes (Event.Size), from Publish until every output
// is done with them. It holds no events itself: batches and outputs do; the queue only counts them, so a slow
// output keeps its events counted and slows every Publish.
type queue struct {
	maxEvents int
	maxBytes  int64

	mu     sync.Mutex
	events int
	bytes  int64
	// wake is closed (and cleared) by release when somebody waits for room or for the queue to empty. It is made
	// only when a caller has to wait, so the steady state allocates nothing.
	wake chan struct{}
}

// acquire reserves room for a prefix of evs and returns its length, at least 1. It blocks while not even the first
// event fits, flushing the batcher's partial batch first (its events may be what the queue waits for), until
// room appears, ctx ends or stop closes. An event larger than maxBytes is admitted alone when the queue is empty,
// so the bound is exceeded by at most one event and nothing deadlocks.
func (q *queue) acquire(ctx context.Context, stop <-chan struct{}, evs []Event, flush func()) (int, error) {
	q.mu.Lock()
	for {
		n, bytes := 0, int64(0)
		for n < len(evs) && q.events+n < q.maxEvents {
			size := evs[n].Size()
			if q.bytes+bytes+size > q.maxBytes && (n > 0 || q.events > 0) {
				break
			}
			n++
			bytes += size
		}
		if n > 0 {
			q.events += n
			q.bytes += bytes
			q.mu.Unlock()
			return n, nil
		}
		wake := q.waitLocked()
		q.mu.Unlock()
		flush()
		select {
		case <-wake:
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-stop:
			return 0, ErrStopped
		}
		q.mu.Lock()
	}
}

// release returns the room of events that every output is done with (or that were never queued).
func (q *queue) release(events int, bytes int64) {
	if events == 0 && bytes == 0 {
		return
	}
	q.mu.Lock()
	q.events -= events
	q.bytes -= bytes
	if q.wake != nil {
		close(q.wake)
		q.wake = nil
	}
	q.mu.Unlock()
}

// waitEmpty blocks until the queue holds nothing (the pipeline is drained) or ctx ends; it reports whether the
// queue emptied.
func (q *queue) waitEmpty(ctx context.Context) bool {
	for {
		q.mu.Lock()
		if q.events == 0 {
			q.mu.Unlock()
			return true
		}
		wake := q.waitLocked()
		q.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return false
		}
	}
}

func (q *queue) waitLocked() chan struct{} {
	if q.wake == nil {
		q.wake = make(chan struct{})
	}
	return q.wake
}

// depth returns the events and bytes the queue holds.
func (q *queue) depth() (int, int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.events, q.bytes
}
