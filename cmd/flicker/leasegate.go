package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/snapshot"
)

// leaseGate pauses the sources while this instance cannot confirm its lease (DESIGN.md section 7): a holder whose
// last confirmed renewal is older than the TTL by its monotonic clock may have been taken over already (cut off
// from S3, or stopped with SIGSTOP), and another instance may be shipping the same input. Publish then waits until
// a renewal confirms the lease (publishing resumes) or the lease is found lost (the session fences this instance,
// which cancels the run: exit 3). What was published before the pause is still delivered. The gate wraps the
// Publisher each source is handed, so neither the engine nor the sources know the lease.
type leaseGate struct {
	lease  *snapshot.Lease
	ttl    time.Duration
	log    zerolog.Logger
	paused atomic.Bool // logged once per pause, however many sources wait
}

// wrap gates every source's Publisher.
func (g *leaseGate) wrap(sources []engine.Source) []engine.Source {
	gated := make([]engine.Source, len(sources))
	for i, src := range sources {
		gated[i] = gatedSource{src: src, gate: g}
	}
	return gated
}

// wait returns at once while the lease is confirmed; otherwise it blocks until it is again, or until ctx ends.
func (g *leaseGate) wait(ctx context.Context) error {
	if g.lease.Confirmed() {
		return nil
	}
	if g.lease.TakingOver() {
		if g.paused.CompareAndSwap(false, true) {
			g.log.Info().Msg("took over the lease: publishing waits until this instance's first snapshot upload " +
				"shows the previous holder stopped")
		}
	} else if g.paused.CompareAndSwap(false, true) {
		ev := g.log.Warn().Dur("lease_ttl", g.ttl)
		if st := g.lease.State(); !st.LastConfirmed.IsZero() {
			ev = ev.Dur("since_last_renewal", time.Since(st.LastConfirmed).Round(time.Millisecond))
		}
		ev.Msg("PAUSED: the lease was not confirmed within its TTL and another instance may have taken over; " +
			"reading nothing more until a renewal confirms it")
	}
	err := g.lease.WaitConfirmed(ctx)
	switch {
	case err == nil:
		if g.paused.CompareAndSwap(true, false) {
			g.log.Info().Msg("lease confirmed again: publishing resumed")
		}
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	}
	// Lost (or released): the session fences this instance and cancels ctx; publish nothing until then.
	<-ctx.Done()
	return ctx.Err()
}

// gatedSource runs a source with its Publisher behind the gate.
type gatedSource struct {
	src  engine.Source
	gate *leaseGate
}

func (s gatedSource) Run(ctx context.Context, pub engine.Publisher) error {
	gated := gatedPublisher{pub: pub, gate: s.gate}
	if try, ok := pub.(engine.TryPublisher); ok {
		return s.src.Run(ctx, tryGatedPublisher{gatedPublisher: gated, try: try})
	}
	return s.src.Run(ctx, gated)
}

// String names the wrapped source in the engine's errors.
func (s gatedSource) String() string {
	if n, ok := s.src.(fmt.Stringer); ok {
		return n.String()
	}
	return fmt.Sprintf("%T", s.src)
}

type gatedPublisher struct {
	pub  engine.Publisher
	gate *leaseGate
}

func (p gatedPublisher) Publish(ctx context.Context, events []engine.Event) error {
	if err := p.gate.wait(ctx); err != nil {
		return err
	}
	return p.pub.Publish(ctx, events)
}

// tryGatedPublisher keeps the pipeline's TryPublish behind the gate for push sources: while the lease is not
// confirmed it refuses at once with engine.ErrPaused (the HTTP receiver answers 503 "lease unconfirmed", not the
// 429 of a full queue) instead of holding the sender.
type tryGatedPublisher struct {
	gatedPublisher
	try engine.TryPublisher
}

func (p tryGatedPublisher) TryPublish(events []engine.Event) (bool, error) {
	if !p.gate.lease.Confirmed() {
		return false, engine.ErrPaused
	}
	return p.try.TryPublish(events)
}

func (p tryGatedPublisher) TryPublishWait(ctx context.Context, events []engine.Event, wait time.Duration) (bool, error) {
	if !p.gate.lease.Confirmed() {
		return false, engine.ErrPaused
	}
	return p.try.TryPublishWait(ctx, events, wait)
}
