package enginetest_test

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMemorySinkPassesSinkSuite(t *testing.T) {
	enginetest.RunSinkSuite(t, func(t *testing.T) (engine.Sink, func() [][]byte) {
		s := enginetest.NewMemorySink()
		return s, s.Messages
	})
}

// A sink that acknowledges late must pass too: the engine settles its batches on release.
func TestHoldingSinkPassesSinkSuite(t *testing.T) {
	enginetest.RunSinkSuite(t, func(t *testing.T) (engine.Sink, func() [][]byte) {
		s := &releasingSink{MemorySink: enginetest.NewMemorySink()}
		s.SetHold(true)
		return s, s.Messages
	})
}

// releasingSink holds every batch and releases it from another goroutine.
type releasingSink struct {
	*enginetest.MemorySink
}

func (s *releasingSink) Write(ctx context.Context, b *engine.Batch) error {
	if err := s.MemorySink.Write(ctx, b); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { s.ReleaseHeld(); close(done) }()
	<-done
	return nil
}

type pullHarness struct{ src *enginetest.PullSource }

func (h *pullHarness) Prepare(_ *testing.T, content map[string][][]byte) {
	h.src = enginetest.NewPullSource(&engine.Input{Name: "pull", Type: "test"}, content)
}

func (h *pullHarness) Source(*testing.T) engine.Source {
	return h.src.Resume()
}

func TestPullSourcePassesSourceSuite(t *testing.T) {
	var harnesses []*pullHarness
	enginetest.RunSourceSuite(t, func(*testing.T) enginetest.SourceHarness {
		h := &pullHarness{}
		harnesses = append(harnesses, h)
		return h
	})
	for _, h := range harnesses {
		if errs := h.src.AckErrors(); len(errs) > 0 {
			t.Errorf("acknowledgements broke the contract: %v", errs)
		}
	}
}
