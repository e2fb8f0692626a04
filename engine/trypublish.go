package engine

import (
	"context"
	"errors"
	"time"
)

// TryPublisher is implemented by the pipeline's Publisher for push sources that answer their senders at once
// instead of blocking them: the HTTP receiver turns a full queue into 429 Too Many Requests. Sources find it with
// a type assertion on the Publisher they are handed; a decorator that hides it leaves them without it.
type TryPublisher interface {
	// TryPublish queues every event of events, or none: it returns false (and queues nothing) when the queue
	// has no room for all of them now, so that a refused request leaves nothing behind to be shipped twice. A
	// request larger than the queue's bounds is admitted alone into an empty queue, like a single oversized event
	// by Publish. It never blocks on the queue, and returns ErrStopped once the pipeline stopped taking events.
	// The batch is cut after the events, whatever its size and age: their sender is waiting for them, and no
	// later event of theirs will fill it. The events' Message, ID and Extra bytes must stay unmodified until the
	// events are acknowledged.
	TryPublish(events []Event) (bool, error)
	// TryPublishWait is TryPublish that, when the events do not fit now, waits up to wait for room in line with
	// the other waiting requests: they are served first come first served and before any Publish takes the room
	// they wait for, so a source publishing with Publish cannot starve them. It returns false when wait passed
	// (nothing queued), ctx's error when ctx ended, and ErrExceedsQueue, at once, when the events are more than
	// the queue's bounds (they would never fit beside anything).
	TryPublishWait(ctx context.Context, events []Event, wait time.Duration) (bool, error)
}

var (
	// ErrExceedsQueue is TryPublishWait's answer to events more (in count or bytes) than the queue's bounds.
	ErrExceedsQueue = errors.New("the events exceed the queue's bounds")
	// ErrPaused is returned by a Publisher decorator that refuses events for now without the queue being full
	// (flicker's lease gate while the instance's lease is unconfirmed): a push source answers "unavailable".
	ErrPaused = errors.New("publishing paused")
)

// TryPublish implements TryPublisher.
func (pub *publisher) TryPublish(events []Event) (bool, error) {
	p := (*Pipeline)(pub)
	return pub.tryPublish(events, func(size int64) (bool, error) {
		return p.q.tryAcquire(len(events), size), nil
	})
}

// TryPublishWait implements TryPublisher.
func (pub *publisher) TryPublishWait(ctx context.Context, events []Event, wait time.Duration) (bool, error) {
	p := (*Pipeline)(pub)
	return pub.tryPublish(events, func(size int64) (bool, error) {
		return p.q.tryAcquireWait(ctx, p.stopPublish, len(events), size, wait, p.batch.flush)
	})
}

// tryPublish queues events whole once acquire reserved their room.
func (pub *publisher) tryPublish(events []Event, acquire func(size int64) (bool, error)) (bool, error) {
	p := (*Pipeline)(pub)
	select {
	case <-p.stopPublish:
		return false, ErrStopped
	default:
	}
	if len(events) == 0 {
		return true, nil
	}
	if p.positions != nil || p.ids != nil {
		p.loadPositions(events)
	}
	size := p.sizeOf(events)
	if ok, err := acquire(size); !ok || err != nil {
		p.batch.flush() // the queue may wait for the events of the partial batch
		return false, err
	}
	invalid, freed, ok := p.batch.add(events)
	if !ok {
		p.q.release(len(events), size)
		return false, ErrStopped
	}
	p.batch.flush()
	p.queued(events, invalid, freed)
	return true, nil
}

// tryAcquire reserves room for n events of size bytes in all, or nothing: it reports false when they do not all
// fit now, or when whole-request waiters are in line before it. Into an empty queue they are admitted whatever
// their size, so that no request waits forever.
func (q *queue) tryAcquire(n int, bytes int64) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.waiters) > 0 || q.events > 0 && !q.fitsLocked(n, bytes) {
		return false
	}
	q.events += n
	q.bytes += bytes
	return true
}
