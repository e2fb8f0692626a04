package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var testInput = &engine.Input{Name: "in", Type: "test"}

// fastRetry keeps the tests' backoffs short.
var fastRetry = engine.RetryPolicy{Initial: time.Millisecond, Max: 4 * time.Millisecond}

func newPipeline(t *testing.T, opts engine.Options) *engine.Pipeline {
	t.Helper()
	opts.Logger = zerolog.Nop()
	if opts.Batch.MaxEvents == 0 {
		opts.Batch.MaxEvents = 16
	}
	if opts.Batch.MaxWait == 0 {
		opts.Batch.MaxWait = 2 * time.Millisecond
	}
	for i := range opts.Outputs {
		if opts.Outputs[i].Retry == (engine.RetryPolicy{}) {
			opts.Outputs[i].Retry = fastRetry
		}
	}
	p, err := engine.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// start runs p in the background; the returned function cancels its context and returns Run's error.
func start(t *testing.T, p *engine.Pipeline, sources ...engine.Source) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, sources) }()
	return func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(time.Minute):
			t.Fatal("Run did not return within a minute")
			return nil
		}
	}
}

// runToEnd runs once-mode sources through p until it drained.
func runToEnd(t *testing.T, p *engine.Pipeline, sources ...engine.Source) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := p.Run(ctx, sources); err != nil {
		t.Fatalf("run: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the pipeline did not drain within a minute")
	}
}

func checkAcks(t *testing.T, src *enginetest.PullSource) {
	t.Helper()
	if errs := src.AckErrors(); len(errs) > 0 {
		t.Fatalf("acknowledgements broke the contract: %v", errs)
	}
}

func output(name string, s engine.Sink) engine.Output { return engine.Output{Name: name, Sink: s} }
