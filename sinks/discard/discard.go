// Package discard is an output that accepts every event without writing it anywhere, for benchmarks and dry runs.
package discard

import (
	"context"
	"sync/atomic"

	"github.com/flickerlog/flicker/engine"
)

// Sink accepts everything.
type Sink struct {
	events atomic.Int64
}

// New returns a discarding sink.
func New() *Sink { return &Sink{} }

// Write accepts every event of b.
func (s *Sink) Write(_ context.Context, b *engine.Batch) error {
	for i := range b.Events {
		b.Accept(i)
	}
	s.events.Add(int64(b.Len()))
	return nil
}

// Events is the number of events accepted so far.
func (s *Sink) Events() int64 { return s.events.Load() }

// Close does nothing.
func (s *Sink) Close(context.Context) error { return nil }
