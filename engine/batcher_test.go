package engine_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
)

// batchSizes records the length of every batch it is given.
type batchSizes struct {
	mu    sync.Mutex
	sizes []int
	total int
}

func (s *batchSizes) Write(_ context.Context, b *engine.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sizes = append(s.sizes, b.Len())
	s.total += b.Len()
	return nil
}

func (s *batchSizes) Close(context.Context) error { return nil }

func (s *batchSizes) snapshot() ([]int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.sizes...), s.total
}

// publishThenWait publishes its events in one call, then waits for the end of the run (follow mode).
type publishThenWait struct{ events []engine.Event }

func (p publishThenWait) Run(ctx context.Context, pub engine.Publisher) error {
	if err := pub.Publish(ctx, p.events); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

func eventsOf(n, msgLen int) []engine.Event {
	st := engine.NewStream(testInput, func(int64) {})
	evs := make([]engine.Event, n)
	msg := make([]byte, msgLen)
	for i := range evs {
		evs[i] = engine.Event{Stream: st, Message: msg, Offset: int64(i * msgLen), Pos: int64((i + 1) * msgLen)}
	}
	return evs
}

func TestBatcherCutsByCountBytesAndAge(t *testing.T) {
	one := eventsOf(1, 100)[0]
	tests := []struct {
		name   string
		limits engine.BatchLimits
		events []engine.Event
		want   []int
	}{
		// 25 events, 10 a batch: two full batches, then the last 5 cut by age (nothing else arrives).
		{"count", engine.BatchLimits{MaxEvents: 10, MaxBytes: 1 << 20, MaxWait: 20 * time.Millisecond}, eventsOf(25, 100), []int{10, 10, 5}},
		// Byte bound of three events' worth: batches of three.
		{"bytes", engine.BatchLimits{MaxEvents: 1000, MaxBytes: 3 * one.Size(), MaxWait: 20 * time.Millisecond}, eventsOf(7, 100), []int{3, 3, 1}},
		// A lone event is not held back: the age bound delivers it.
		{"age", engine.BatchLimits{MaxEvents: 1000, MaxBytes: 1 << 20, MaxWait: 10 * time.Millisecond}, eventsOf(1, 100), []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &batchSizes{}
			p, err := engine.New(engine.Options{Batch: tt.limits, Outputs: []engine.Output{{Name: "out", Sink: sink}}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- p.Run(ctx, []engine.Source{publishThenWait{events: tt.events}}) }()
			enginetest.Eventually(t, 10*time.Second, func() bool { _, n := sink.snapshot(); return n == len(tt.events) },
				"every event delivered")
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			sizes, _ := sink.snapshot()
			if len(sizes) != len(tt.want) {
				t.Fatalf("batch sizes %v, want %v", sizes, tt.want)
			}
			for i := range sizes {
				if sizes[i] != tt.want[i] {
					t.Fatalf("batch sizes %v, want %v", sizes, tt.want)
				}
			}
		})
	}
}
