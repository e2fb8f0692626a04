package engine

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// unmarked is the status of an event the sink has not marked yet; Write's return decides what it means.
const unmarked Status = 0xff

// workKind says where a work item's events come from.
type workKind uint8

const (
	kindChunk      workKind = iota // a batch cut by the batcher; events shared with the other outputs
	kindRetry                      // events this output asked to retry; events owned
	kindFiltered                   // a chunk's events less those this output accepted in an earlier run; owned
	kindDeadLetter                 // events another output rejected; events owned, reasons set
)

// work is one Batch given to one output, with what the engine needs to settle its results. Works are pooled:
// each carries its result arrays and its release function, made once.
type work struct {
	b      Batch
	kind   workKind
	out    *output // the output whose sink writes it
	origin *output // the output whose completion the events count for: out, or the rejecting output
	chunk  *chunk  // kindChunk: the shared events
	own    []Event // kindRetry, kindDeadLetter: owned copies
	rsn    []error // kindDeadLetter: reasons, b.reasons points here
	err    error   // Write's error, applied to unmarked events when settling
	// parties counts who must finish before a held batch settles: Write returning and the sink's release.
	parties atomic.Int32
}

// output is the worker of one sink: a configured output, or the hidden writer of an output's dead-letter sink.
// Its goroutine calls Sink.Write one batch at a time, retries before new batches, and backs off on failures.
type output struct {
	p            *Pipeline
	name         string
	idx          int // index among the configured outputs (bit in Event.skip); -1 for a dead-letter sink's writer
	sink         Sink
	retry        RetryPolicy
	deadLetter   *output // where rejected events go; nil: counted, logged and done
	deadLetterOf string  // for the hidden writer of a dead-letter sink: the output it serves
	log          zerolog.Logger
	stats        outputCounters
	dropLog      rateLimit
	errLog       rateLimit

	wake chan struct{} // capacity 1: new work was queued

	// flusher is the sink when it implements Flusher; flushed (worker goroutine only) is set once it was flushed
	// with nothing written since.
	flusher Flusher
	flushed bool

	mu     sync.Mutex
	fresh  fifo[*work] // chunks and dead letters, in arrival order
	retryQ fifo[*work] // retries, written before fresh work
	streak int         // consecutive writes that asked for a retry; drives the backoff
}

// enqueueChunk gives the output its share of a chunk the batcher cut.
func (o *output) enqueueChunk(c *chunk) {
	if o.idx >= 0 && c.skip&(1<<o.idx) != 0 {
		o.enqueueFiltered(c)
		return
	}
	w := o.p.getWork(c.events)
	w.kind, w.out, w.origin, w.chunk = kindChunk, o, o, c
	o.push(w, false)
}

// enqueueFiltered gives the output a copy of the chunk's events without those it accepted in an earlier run
// (they were counted done for it at publish), and lets go of the chunk. Only the first chunks of a stream after
// a restart that followed an output failure take this path.
func (o *output) enqueueFiltered(c *chunk) {
	w := o.p.getWork(nil)
	w.kind, w.out, w.origin = kindFiltered, o, o
	bit := uint64(1) << o.idx
	for i := range c.events {
		if c.events[i].skip&bit == 0 {
			w.own = append(w.own, c.events[i])
		}
	}
	o.stats.skipped.Add(uint64(len(c.events) - len(w.own)))
	if c.refs.Add(-1) == 0 {
		o.p.batch.putChunk(c)
	}
	if len(w.own) == 0 {
		o.p.putWork(w)
		return
	}
	w.setEvents(w.own)
	o.push(w, false)
}

// push queues w and wakes the worker. Retries go to their own list, which the worker empties first.
func (o *output) push(w *work, retry bool) {
	o.mu.Lock()
	if retry {
		o.retryQ.push(w)
	} else {
		o.fresh.push(w)
	}
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// run is the worker goroutine; Run owns it. It ends when stop closes (the pipeline drained) or ctx ends (the
// shutdown budget is spent; queued work is abandoned, its events stay unacknowledged).
func (o *output) run(ctx context.Context, stop, draining <-chan struct{}) {
	for {
		w := o.next(ctx, stop, draining)
		if w == nil {
			return
		}
		o.flushed = false
		o.write(ctx, w)
	}
}

// flush asks a Flusher sink to write what it holds: the pipeline drains and this output has nothing to write.
func (o *output) flush(ctx context.Context) {
	o.flushed = true
	if err := o.flusher.Flush(ctx); err != nil && ctx.Err() == nil {
		o.log.Warn().Err(err).Msg("flush while draining failed; the held events are retried")
	}
}

// next returns the next work to write: a retry once its backoff passed, else the oldest fresh work. It returns
// nil when the worker must end.
func (o *output) next(ctx context.Context, stop, draining <-chan struct{}) *work {
	for {
		o.mu.Lock()
		if w, ok := o.retryQ.pop(); ok {
			wait := o.backoff(o.streak)
			o.mu.Unlock()
			if !sleep(ctx, stop, wait) {
				return nil
			}
			return w
		}
		if w, ok := o.fresh.pop(); ok {
			o.mu.Unlock()
			return w
		}
		o.mu.Unlock()
		var drain <-chan struct{} // nil (never ready) unless a flush is due
		if o.flusher != nil && !o.flushed {
			drain = draining
		}
		select {
		case <-o.wake:
		case <-drain:
			o.flush(ctx)
		case <-stop:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

// write calls the sink and settles the results, now or, for a held batch, when both Write returned and the sink
// released it, whichever comes last.
func (o *output) write(ctx context.Context, w *work) {
	n := len(w.b.Events)
	for i := range n {
		w.b.status[i] = unmarked
	}
	w.b.held.Store(false)
	w.b.asyncErr = nil
	w.parties.Store(2)
	o.stats.batches.Add(1)
	err := o.sink.Write(ctx, &w.b)
	w.err = err
	if err != nil {
		o.writeFailed(err, n, ctx.Err() == nil)
	}
	if !w.b.held.Load() {
		o.settle(w)
		return
	}
	o.stats.held.Add(1)
	if w.parties.Add(-1) == 0 {
		o.stats.held.Add(-1)
		o.settle(w)
	}
}

// writeFailed counts a failed Write and, unless the shutdown budget is spent, logs it, rate-limited.
func (o *output) writeFailed(err error, events int, logIt bool) {
	o.stats.writeErrors.Add(1)
	if !logIt {
		return
	}
	if ok, suppressed := o.errLog.allow(); ok {
		o.log.Warn().Err(err).Int("events", events).Int64("suppressed", suppressed).Msg("write failed, will retry")
	}
}

// released is the release function of a held batch, called by the sink from any goroutine.
func (w *work) released() {
	if w.parties.Add(-1) == 0 {
		w.out.stats.held.Add(-1)
		w.out.settle(w)
	}
}

// backoff is capped exponential with full jitter in its upper half: after streak failures in a row, a wait in
// [d/2, d] with d = Initial * 2^(streak-1), capped at Max.
func (o *output) backoff(streak int) time.Duration {
	if streak <= 0 {
		return 0
	}
	d := o.retry.Initial
	for i := 1; i < streak && d < o.retry.Max; i++ {
		d *= 2
	}
	d = min(d, o.retry.Max)
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits d; it reports false when the worker must end instead.
func sleep(ctx context.Context, stop <-chan struct{}, d time.Duration) bool {
	if d <= 0 {
		select {
		case <-stop:
			return false
		case <-ctx.Done():
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	case <-ctx.Done():
		return false
	}
}

// rateLimit lets one warning a second through and counts the ones it held back.
type rateLimit struct {
	last       atomic.Int64 // unix nanoseconds of the last warning let through
	suppressed atomic.Int64
}

func (r *rateLimit) allow() (ok bool, suppressed int64) {
	now := time.Now().UnixNano()
	last := r.last.Load()
	if now-last < int64(time.Second) || !r.last.CompareAndSwap(last, now) {
		r.suppressed.Add(1)
		return false, 0
	}
	return true, r.suppressed.Swap(0)
}
