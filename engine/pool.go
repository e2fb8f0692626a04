package engine

import (
	"context"
	"errors"
	"sync"
)

// SinkPool spreads an output's batches over several members, each written one batch at a time as Sink promises,
// so that an output whose Write mostly waits (on the network, or compressing on one core) keeps several batches
// in flight. Its Write hands the batch to an idle member and holds it; it blocks while every member is busy,
// which is the output's backpressure. Batches complete in any order; the engine still checkpoints every stream
// in order. Members must not Hold batches themselves.
type SinkPool struct {
	members []Sink
	idle    chan Sink
	running sync.WaitGroup // the goroutines writing a batch
}

// NewSinkPool returns a pool of members; with one member it returns that member unchanged.
func NewSinkPool(members []Sink) Sink {
	if len(members) == 1 {
		return members[0]
	}
	p := &SinkPool{members: members, idle: make(chan Sink, len(members))}
	for _, m := range members {
		p.idle <- m
	}
	return p
}

// Write waits for an idle member and starts it on b in a goroutine that lives until the member's Write returns.
// The member's error, if any, marks its unmarked events Retry and is reported by the engine like a Write error.
func (p *SinkPool) Write(ctx context.Context, b *Batch) error {
	var m Sink
	select {
	case m = <-p.idle:
	case <-ctx.Done():
		return ctx.Err()
	}
	release := b.Hold()
	p.running.Go(func() {
		b.asyncErr = m.Write(ctx, b)
		p.idle <- m
		release()
	})
	return nil
}

// Close waits for the batches in flight (until ctx ends) and closes every member.
func (p *SinkPool) Close(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		p.running.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	errs := make([]error, 0, len(p.members))
	for _, m := range p.members {
		errs = append(errs, m.Close(ctx))
	}
	return errors.Join(errs...)
}
