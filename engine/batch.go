package engine

import "sync/atomic"

// Batch is what a Sink receives: events in stream order and a result slot for each. One Batch value is given to
// one output; outputs never share a Batch.
type Batch struct {
	// Events are the events to deliver. Sinks read them and must not modify or retain them (nor their bytes)
	// after the batch is released.
	Events []Event

	status  []Status
	errs    []error // per event: the retry error or rejection reason
	reasons []error // for dead-letter batches: why the original output rejected each event
	held    atomic.Bool
	release func() // set by the engine; called once when a held batch is released
	// asyncErr is a SinkPool member's Write error, reported when the held batch is released.
	asyncErr error
}

// Len is the number of events in the batch.
func (b *Batch) Len() int { return len(b.Events) }

// Accept marks event i as durably written.
func (b *Batch) Accept(i int) { b.status[i], b.errs[i] = Accepted, nil }

// Retry marks event i to be delivered again after the output's backoff.
func (b *Batch) Retry(i int, err error) { b.status[i], b.errs[i] = Retry, err }

// Reject marks event i as never deliverable to this output, with the reason recorded in the dead letter.
func (b *Batch) Reject(i int, reason error) { b.status[i], b.errs[i] = Rejected, reason }

// Status returns the result recorded for event i and its error. An event not marked yet reports Accepted.
func (b *Batch) Status(i int) (Status, error) {
	if b.status[i] == unmarked {
		return Accepted, nil
	}
	return b.status[i], b.errs[i]
}

// Reason is, in a batch written to a dead letter, why the original output rejected event i; nil otherwise.
func (b *Batch) Reason(i int) error {
	if b.reasons == nil {
		return nil
	}
	return b.reasons[i]
}

// DeadLetter reports whether the batch carries rejected events for a dead letter.
func (b *Batch) DeadLetter() bool { return b.reasons != nil }

// Hold tells the engine that the sink reports this batch's results later, after Write has returned. The sink
// must call the returned function exactly once, after marking every event; the engine processes the results
// then.
func (b *Batch) Hold() (release func()) {
	b.held.Store(true)
	return b.release
}

// NewBatch returns a batch of events with every result unmarked, for sinks' tests and benchmarks. The engine
// builds its own batches.
func NewBatch(events []Event) *Batch {
	return &Batch{Events: events, status: make([]Status, len(events)), errs: make([]error, len(events)),
		release: func() {}}
}

// NewBatchWithRelease is NewBatch with the function that Hold returns, so that sinks' tests can observe when a
// held batch is released.
func NewBatchWithRelease(events []Event, release func()) *Batch {
	b := NewBatch(events)
	b.release = release
	return b
}
