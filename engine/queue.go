package engine

import (
	"context"
	"sync"
	"time"
)

// queue bounds the events the pipeline holds, in count and in bytes (Event.Size), from Publish until their
// stream's acknowledgement passes them (every output is done with them and with every event before them: their
// source keeps their bytes until then). It holds no events itself: batches and outputs do; the queue only counts
// them, so a slow output, or one event retried at a stream's head, keeps events counted and slows every Publish.
type queue struct {
	maxEvents int
	maxBytes  int64

	mu     sync.Mutex
	events int
	bytes  int64
	// wake is closed (and cleared) by release when somebody waits for room or for the queue to empty. It is made
	// only when a caller has to wait, so the steady state allocates nothing.
	wake chan struct{}
	// waiters are refused whole-request reservations (tryAcquireWait) waiting for room, first come first served:
	// release admits them before any blocking acquire takes the room, so a stream of small Publish calls cannot
	// keep a request that needs room for all its events at one instant out forever.
	waiters []*roomWaiter
}

// roomWaiter is a whole-request reservation waiting in queue.waiters; admitted is closed once release took its
// room for it.
type roomWaiter struct {
	events   int
	bytes    int64
	admitted chan struct{}
}

// acquire reserves room for a prefix of evs and returns its length, at least 1. It blocks while not even the first
// event fits, flushing the batcher's partial batch first (its events may be what the queue waits for), until
// room appears, ctx ends or stop closes. An event larger than maxBytes is admitted alone when the queue is empty,
// so the bound is exceeded by at most one event and nothing deadlocks.
func (q *queue) acquire(ctx context.Context, stop <-chan struct{}, evs []Event, flush func()) (int, error) {
	q.mu.Lock()
	for {
		n, bytes := 0, int64(0)
		for len(q.waiters) == 0 && n < len(evs) && q.events+n < q.maxEvents {
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
	q.admitWaitersLocked()
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

// tryAcquireWait is tryAcquire that, when the events do not fit now, waits up to wait (or until ctx ends or
// stop closes) as a registered waiter: waiters are admitted in arrival order, before blocking acquires. It never
// admits more than the queue's bounds, not even into an empty queue: ErrExceedsQueue then.
func (q *queue) tryAcquireWait(ctx context.Context, stop <-chan struct{}, n int, bytes int64, wait time.Duration,
	flush func()) (bool, error) {
	if n > q.maxEvents || bytes > q.maxBytes {
		return false, ErrExceedsQueue
	}
	q.mu.Lock()
	if len(q.waiters) == 0 && q.fitsLocked(n, bytes) {
		q.events += n
		q.bytes += bytes
		q.mu.Unlock()
		return true, nil
	}
	if wait <= 0 {
		q.mu.Unlock()
		return false, nil
	}
	w := &roomWaiter{events: n, bytes: bytes, admitted: make(chan struct{})}
	q.waiters = append(q.waiters, w)
	q.mu.Unlock()
	flush() // the queue may wait for the events of the partial batch
	timer := time.NewTimer(wait)
	defer timer.Stop()
	var err error
	select {
	case <-w.admitted:
		return true, nil
	case <-timer.C:
	case <-ctx.Done():
		err = ctx.Err()
	case <-stop:
		err = ErrStopped
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	select {
	case <-w.admitted: // admitted while giving up: the room is taken, keep it
		return true, nil
	default:
	}
	for i, x := range q.waiters {
		if x == w {
			q.waiters = append(q.waiters[:i], q.waiters[i+1:]...)
			break
		}
	}
	// The head may have been what held the others (and blocking acquires) back.
	q.admitWaitersLocked()
	if q.wake != nil {
		close(q.wake)
		q.wake = nil
	}
	return false, err
}

func (q *queue) fitsLocked(n int, bytes int64) bool {
	return q.events+n <= q.maxEvents && q.bytes+bytes <= q.maxBytes
}

// admitWaitersLocked gives room to the waiters at the head of the line while they fit.
func (q *queue) admitWaitersLocked() {
	for len(q.waiters) > 0 && q.fitsLocked(q.waiters[0].events, q.waiters[0].bytes) {
		w := q.waiters[0]
		q.waiters = q.waiters[1:]
		q.events += w.events
		q.bytes += w.bytes
		close(w.admitted)
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
