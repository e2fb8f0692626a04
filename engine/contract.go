package engine

import (
	"context"
	"time"
)

// Source reads streams and publishes their events.
type Source interface {
	// Run is called once by the pipeline, in its own goroutine. It reads and publishes until ctx is cancelled
	// (then it returns nil or ctx.Err()), or, for a source built in once mode, until it has published everything
	// its inputs held at start (then it returns nil and the pipeline drains). Any other error is fatal for the
	// pipeline. Run must not return before every goroutine it started has ended.
	Run(ctx context.Context, pub Publisher) error
}

// Publisher is the pipeline's entry, handed to Source.Run.
type Publisher interface {
	// Publish hands events to the pipeline, keeping their order within each stream. It blocks while the queue is
	// at its event or byte bound (backpressure) and returns ctx.Err() if ctx ends first; then events from the first
	// one not yet queued on are not published (they are never acknowledged, so they are read again after a
	// restart). The caller may reuse the events slice after Publish returns, but not the Message, ID or Extra
	// bytes, which must stay unmodified until the event is acknowledged. An event marked Filtered takes its place
	// in its stream's order and is sent to no output; a stream's acknowledgement that it completes is made from
	// within Publish.
	Publish(ctx context.Context, events []Event) error
}

// Sink is an output's writer.
type Sink interface {
	// Write delivers the events of b. The engine calls it from the output's worker goroutine, one call at a time;
	// ctx ends when the shutdown budget is spent. Write reports a result per event on b: Accept (durably
	// written), Retry (try again later) or Reject (never deliverable, with a reason). Events left unmarked count
	// as accepted when Write returns nil; when Write returns an error, they all count as Retry with that error.
	// A sink that acknowledges later (after a group fsync, or once a larger object is written) calls b.Hold
	// before returning and calls the release function once it has marked every event.
	Write(ctx context.Context, b *Batch) error
	// Close flushes and releases the sink. The engine calls it once, after the last Write has returned and every
	// held batch was released, or when the shutdown budget is spent (ctx ends).
	Close(ctx context.Context) error
}

// Flusher is implemented by a sink that holds batches until a larger unit is complete (an S3 object cut by size
// or age). When the pipeline drains (the sources stopped and the last batch was cut), the engine calls Flush from
// the output's worker each time the output has nothing left to write, so a clean stop writes what is held instead
// of waiting for the unit's own cut. Flush marks and releases the held batches like any later release.
type Flusher interface {
	Flush(ctx context.Context) error
}

// Status is an output's result for one event.
type Status uint8

const (
	// Accepted: the output has the event durably. This is the zero value: unmarked events are accepted.
	Accepted Status = iota
	// Retry: deliver the event again after the output's backoff.
	Retry
	// Rejected: the event can never be delivered to this output; it goes to the dead letter.
	Rejected
)

// RetryPolicy is capped exponential backoff with jitter, owned by the engine per output.
type RetryPolicy struct {
	Initial time.Duration // first wait after a failure
	Max     time.Duration // cap on the wait
}

// Default retry waits, used when a RetryPolicy field is zero.
const (
	DefaultRetryInitial = 500 * time.Millisecond
	DefaultRetryMax     = 30 * time.Second
)
