package engine

// TryPublisher is implemented by the pipeline's Publisher for push sources that answer their senders at once
// instead of blocking them: the HTTP receiver turns a full queue into 429 Too Many Requests. Sources find it with
// a type assertion on the Publisher they are handed, and fall back to Publish when a decorator hides it.
type TryPublisher interface {
	// TryPublish queues every event of events, or none: it returns false (and queues nothing) when the queue
	// has no room for all of them now, so that a refused request leaves nothing behind to be shipped twice. A
	// request larger than the queue's bounds is admitted alone into an empty queue, like a single oversized event
	// by Publish. It never blocks on the queue, and returns ErrStopped once the pipeline stopped taking events.
	// The batch is cut after the events, whatever its size and age: their sender is waiting for them, and no
	// later event of theirs will fill it. The events' Message, ID and Extra bytes must stay unmodified until the
	// events are acknowledged.
	TryPublish(events []Event) (bool, error)
}

// TryPublish implements TryPublisher.
func (pub *publisher) TryPublish(events []Event) (bool, error) {
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
	if !p.q.tryAcquire(len(events), size) {
		p.batch.flush() // the queue may wait for the events of the partial batch
		return false, nil
	}
	invalid, invalidBytes, ok := p.batch.add(events)
	if !ok {
		p.q.release(len(events), size)
		return false, ErrStopped
	}
	p.batch.flush()
	p.q.release(invalid, invalidBytes)
	if invalid > 0 {
		p.stats.invalid.Add(uint64(invalid))
		p.log.Warn().Int("events", invalid).Msg("events without a stream dropped")
	}
	var bytes int
	for i := range events {
		bytes += len(events[i].Message)
	}
	p.stats.eventsIn.Add(uint64(len(events) - invalid))
	p.stats.bytesIn.Add(uint64(bytes))
	return true, nil
}

// tryAcquire reserves room for n events of size bytes in all, or nothing: it reports false when they do not all
// fit now. Into an empty queue they are admitted whatever their size, so that no request waits forever.
func (q *queue) tryAcquire(n int, bytes int64) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.events > 0 && (q.events+n > q.maxEvents || q.bytes+bytes > q.maxBytes) {
		return false
	}
	q.events += n
	q.bytes += bytes
	return true
}
