package api_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/sources/api"
	"github.com/flickerlog/flicker/sources/api/oktatest"
)

type discardSink struct{}

func (discardSink) Write(context.Context, *engine.Batch) error { return nil }
func (discardSink) Close(context.Context) error                { return nil }

// BenchmarkOktaEmulator reads 20,000 Okta events at 1000 items per page from the emulator (real HTTP on
// 127.0.0.1, the emulator in the same process) through a pipeline into a discarding output, in once mode: the
// whole path from request to acknowledged checkpoint. Allocations include the emulator's and the engine's.
func BenchmarkOktaEmulator(b *testing.B) {
	const events = 20000
	org := oktatest.Start(b, oktatest.Options{Token: token, RateLimit: 1 << 30})
	org.Add(events)
	cfg := oktaConfig(b, org.Endpoint(), token)
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		reg := newRegistry()
		src := newSource(b, reg, api.Options{Once: true}, zerolog.Nop(), cfg)
		if err := runOnce(b, src, discardSink{}); err != nil {
			b.Fatal(err)
		}
		if n := src.Stats().Events; n != events {
			b.Fatalf("%d events, want %d", n, events)
		}
	}
	runtime.ReadMemStats(&after)
	n := float64(events) * float64(b.N)
	b.ReportMetric(n/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/event")
}
