package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/snapshot"
)

type tryRecorder struct{ tries int }

func (r *tryRecorder) Publish(context.Context, []engine.Event) error { return nil }
func (r *tryRecorder) TryPublish([]engine.Event) (bool, error) {
	r.tries++
	return true, nil
}
func (r *tryRecorder) TryPublishWait(context.Context, []engine.Event, time.Duration) (bool, error) {
	r.tries++
	return true, nil
}

type sourceFunc func(context.Context, engine.Publisher) error

func (f sourceFunc) Run(ctx context.Context, pub engine.Publisher) error { return f(ctx, pub) }

// A push source behind the lease gate still finds TryPublish, and while the lease is not confirmed it is refused
// at once with engine.ErrPaused (a pause, not a full queue) without reaching the pipeline.
func TestLeaseGateKeepsTryPublishGated(t *testing.T) {
	gate := &leaseGate{lease: snapshot.NewLease(nil, snapshot.LeaseOptions{Key: "k"}), log: zerolog.Nop()}
	inner := &tryRecorder{}
	var ok, okWait bool
	var err, errWait error
	var found bool
	src := gate.wrap([]engine.Source{sourceFunc(func(ctx context.Context, pub engine.Publisher) error {
		var try engine.TryPublisher
		if try, found = pub.(engine.TryPublisher); found {
			ok, err = try.TryPublish(make([]engine.Event, 1))
			okWait, errWait = try.TryPublishWait(ctx, make([]engine.Event, 1), time.Second)
		}
		return nil
	})})[0]
	if err := src.Run(context.Background(), inner); err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatal("the gated publisher hides TryPublish: push sources fall back to a blocking Publish")
	}
	if ok || okWait || inner.tries != 0 {
		t.Fatalf("TryPublish, TryPublishWait with an unconfirmed lease = %t, %t, reached the pipeline %d times; want false, 0",
			ok, okWait, inner.tries)
	}
	if !errors.Is(err, engine.ErrPaused) || !errors.Is(errWait, engine.ErrPaused) {
		t.Fatalf("errors %v, %v with an unconfirmed lease, want engine.ErrPaused: the sender would be told the queue is full", err, errWait)
	}
}
