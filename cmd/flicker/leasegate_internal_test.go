package main

import (
	"context"
	"testing"

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

type sourceFunc func(context.Context, engine.Publisher) error

func (f sourceFunc) Run(ctx context.Context, pub engine.Publisher) error { return f(ctx, pub) }

// A push source behind the lease gate still finds TryPublish, and while the lease is not confirmed it is refused
// at once without reaching the pipeline.
func TestLeaseGateKeepsTryPublishGated(t *testing.T) {
	gate := &leaseGate{lease: snapshot.NewLease(nil, snapshot.LeaseOptions{Key: "k"}), log: zerolog.Nop()}
	inner := &tryRecorder{}
	var ok bool
	var found bool
	src := gate.wrap([]engine.Source{sourceFunc(func(_ context.Context, pub engine.Publisher) error {
		var try engine.TryPublisher
		if try, found = pub.(engine.TryPublisher); found {
			ok, _ = try.TryPublish(make([]engine.Event, 1))
		}
		return nil
	})})[0]
	if err := src.Run(context.Background(), inner); err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatal("the gated publisher hides TryPublish: push sources fall back to a blocking Publish")
	}
	if ok || inner.tries != 0 {
		t.Fatalf("TryPublish with an unconfirmed lease = %t, reached the pipeline %d times; want false, 0", ok, inner.tries)
	}
}
