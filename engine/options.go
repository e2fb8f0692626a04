package engine

import (
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"
)

// QueueLimits bound what the pipeline holds from Publish until every output is done: a Publish blocks while
// either bound is reached. Zero fields take the defaults.
type QueueLimits struct {
	MaxEvents int   // events held; default DefaultQueueMaxEvents
	MaxBytes  int64 // sum of Event.Size of the events held; default DefaultQueueMaxBytes
}

// BatchLimits decide when the batcher hands a batch to the outputs: when it holds MaxEvents events or MaxBytes
// bytes, or MaxWait after its first event. Zero fields take the defaults; MaxEvents and MaxBytes are capped at
// the queue's bounds.
type BatchLimits struct {
	MaxEvents int
	MaxBytes  int64
	MaxWait   time.Duration
}

// Defaults for zero limits.
const (
	DefaultQueueMaxEvents    = 65536
	DefaultQueueMaxBytes     = 32 << 20
	DefaultBatchMaxEvents    = 2048
	DefaultBatchMaxBytes     = 4 << 20
	DefaultBatchMaxWait      = 200 * time.Millisecond
	DefaultDrainTimeout      = 10 * time.Second
	DefaultCloseTimeout      = time.Second
	DefaultOutputIDsInterval = 250 * time.Millisecond
)

// Output is one configured output.
type Output struct {
	Name  string // unique among the pipeline's outputs; used in logs, stats and dead-letter reasons
	Sink  Sink
	Retry RetryPolicy // zero fields take DefaultRetryInitial and DefaultRetryMax
	// DeadLetter, when set, receives this output's rejected events (Batch.DeadLetter reports true, Batch.Reason
	// tells why). The pipeline calls its Write from a worker of its own and closes it after the outputs.
	DeadLetter Sink
	// DeadLetterOutput, when set, names another output of the pipeline that receives this output's rejected
	// events as dead-letter batches. Exclusive with DeadLetter.
	DeadLetterOutput string
}

// Options configure a Pipeline.
type Options struct {
	Queue   QueueLimits
	Batch   BatchLimits
	Outputs []Output // at least one; every event goes to every output
	// DrainTimeout is how long Run keeps delivering queued events after its ctx is cancelled (or a source failed)
	// before it cancels the outputs' writes and abandons the rest, which stay unacknowledged. Zero means
	// DefaultDrainTimeout.
	DrainTimeout time.Duration
	// CloseTimeout bounds the outputs' Close when the drain budget was spent (an output was down): Close then
	// gets this long of its own rather than an ended context, so that healthy outputs still close cleanly. When
	// the drain finished in time, Close runs within what is left of the drain budget. Zero means
	// DefaultCloseTimeout.
	CloseTimeout time.Duration
	// OutputPositions, when set, keeps the position of each output that is ahead of a stream's committed one,
	// for streams with a Key, so that after a restart each output receives only what it had not accepted. Nil:
	// every output receives again what was not committed. Unused with one output or more than 64.
	OutputPositions OutputPositions
	// OutputIDs, when set, keeps the ids of the events each output accepted beyond a stream's committed
	// position, for streams with a Key and ByID (whose positions are not the same from one run to the next), so
	// that after a restart each output receives only what it had not accepted. Nil: every output receives again
	// what was not committed on those streams. Unused with one output or more than 64.
	OutputIDs OutputIDs
	// OutputIDsInterval is how often the ids of outputs ahead are saved: an id is saved when its output was
	// done with it at one sweep and the committed position has not passed it at the next, so outputs that
	// acknowledge within an interval of each other save nothing. Zero means DefaultOutputIDsInterval.
	OutputIDsInterval time.Duration
	Logger            zerolog.Logger
}

// Errors of the pipeline.
var (
	// ErrStopped is returned by Publish once the pipeline no longer takes events: its sources were stopped.
	ErrStopped = errors.New("pipeline stopped")
	// ErrReused is returned by a second call of Run: a Pipeline runs once.
	ErrReused = errors.New("pipeline already ran")
)

// withDefaults returns o with zero limits replaced by defaults and batch limits capped at the queue's, or an error
// naming the first invalid setting.
func (o Options) withDefaults() (Options, error) {
	switch {
	case o.Queue.MaxEvents < 0:
		return o, fmt.Errorf("queue max events %d: must not be negative", o.Queue.MaxEvents)
	case o.Queue.MaxBytes < 0:
		return o, fmt.Errorf("queue max bytes %d: must not be negative", o.Queue.MaxBytes)
	case o.Batch.MaxEvents < 0:
		return o, fmt.Errorf("batch max events %d: must not be negative", o.Batch.MaxEvents)
	case o.Batch.MaxBytes < 0:
		return o, fmt.Errorf("batch max bytes %d: must not be negative", o.Batch.MaxBytes)
	case o.Batch.MaxWait < 0:
		return o, fmt.Errorf("batch max wait %s: must not be negative", o.Batch.MaxWait)
	case o.DrainTimeout < 0:
		return o, fmt.Errorf("drain timeout %s: must not be negative", o.DrainTimeout)
	case o.CloseTimeout < 0:
		return o, fmt.Errorf("close timeout %s: must not be negative", o.CloseTimeout)
	case o.OutputIDsInterval < 0:
		return o, fmt.Errorf("output ids interval %s: must not be negative", o.OutputIDsInterval)
	}
	o.Queue.MaxEvents = orDefault(o.Queue.MaxEvents, DefaultQueueMaxEvents)
	o.Queue.MaxBytes = orDefault(o.Queue.MaxBytes, DefaultQueueMaxBytes)
	o.Batch.MaxEvents = min(orDefault(o.Batch.MaxEvents, DefaultBatchMaxEvents), o.Queue.MaxEvents)
	o.Batch.MaxBytes = min(orDefault(o.Batch.MaxBytes, DefaultBatchMaxBytes), o.Queue.MaxBytes)
	o.Batch.MaxWait = orDefault(o.Batch.MaxWait, DefaultBatchMaxWait)
	o.DrainTimeout = orDefault(o.DrainTimeout, DefaultDrainTimeout)
	o.CloseTimeout = orDefault(o.CloseTimeout, DefaultCloseTimeout)
	o.OutputIDsInterval = orDefault(o.OutputIDsInterval, DefaultOutputIDsInterval)
	return o, validateOutputs(o.Outputs)
}

// validateOutputs checks names, sinks and dead-letter routes: targets exist, and following DeadLetterOutput from
// any output never comes back to it (a cycle would pass rejected events around forever).
func validateOutputs(outs []Output) error {
	if len(outs) == 0 {
		return errors.New("no outputs: a pipeline needs at least one")
	}
	byName := make(map[string]int, len(outs))
	for i, o := range outs {
		if o.Name == "" {
			return fmt.Errorf("output %d: empty name", i)
		}
		if _, dup := byName[o.Name]; dup {
			return fmt.Errorf("output %s: duplicate name", o.Name)
		}
		byName[o.Name] = i
		if o.Sink == nil {
			return fmt.Errorf("output %s: no sink", o.Name)
		}
		if o.DeadLetter != nil && o.DeadLetterOutput != "" {
			return fmt.Errorf("output %s: dead letter sink and dead letter output %s are exclusive", o.Name,
				o.DeadLetterOutput)
		}
		if o.Retry.Initial < 0 || o.Retry.Max < 0 {
			return fmt.Errorf("output %s: negative retry wait", o.Name)
		}
	}
	for _, o := range outs {
		seen := map[string]bool{o.Name: true}
		for cur := o; cur.DeadLetterOutput != ""; {
			next, ok := byName[cur.DeadLetterOutput]
			if !ok {
				return fmt.Errorf("output %s: dead letter output %s does not exist", cur.Name, cur.DeadLetterOutput)
			}
			if seen[cur.DeadLetterOutput] {
				return fmt.Errorf("output %s: dead letter outputs form a cycle through %s", o.Name, cur.DeadLetterOutput)
			}
			seen[cur.DeadLetterOutput] = true
			cur = outs[next]
		}
	}
	return nil
}

func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}
