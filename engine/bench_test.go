package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
)

// discard accepts every batch without looking at it: the pipeline's own cost is what is measured.
type discard struct{}

func (discard) Write(context.Context, *engine.Batch) error { return nil }
func (discard) Close(context.Context) error                { return nil }

// benchSource publishes n events over 4 streams in Publish calls of 256, reusing one events slice.
type benchSource struct{ n int }

func (s benchSource) Run(ctx context.Context, pub engine.Publisher) error {
	in := &engine.Input{Name: "bench", Type: "file"}
	streams := make([]*engine.Stream, 4)
	for i := range streams {
		streams[i] = engine.NewStream(in, func(int64) {})
	}
	msg := []byte(`127.0.0.1 - - [21/Nov/2026:10:00:00 +0000] "GET /index.html HTTP/1.1" 200 512`)
	evs := make([]engine.Event, 256)
	now := time.Now()
	pos := make([]int64, len(streams))
	for sent := 0; sent < s.n; {
		k := min(len(evs), s.n-sent)
		for i := range k {
			st := (sent + i) / 64 % len(streams)
			pos[st] += int64(len(msg) + 1)
			evs[i] = engine.Event{Time: now, Message: msg, Stream: streams[st], Offset: pos[st] - int64(len(msg)+1),
				Pos: pos[st]}
		}
		if err := pub.Publish(ctx, evs[:k]); err != nil {
			return err
		}
		sent += k
	}
	return nil
}

// BenchmarkPipeline measures a pipeline delivering to discard outputs, per event: go test -bench Pipeline
// -benchmem ./engine/.
func BenchmarkPipeline(b *testing.B) {
	for _, outputs := range []int{1, 2} {
		b.Run(map[int]string{1: "1-output", 2: "2-outputs"}[outputs], func(b *testing.B) {
			outs := make([]engine.Output, outputs)
			for i := range outs {
				outs[i] = engine.Output{Name: string(rune('a' + i)), Sink: discard{}}
			}
			p, err := engine.New(engine.Options{Outputs: outs, Logger: zerolog.Nop()})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			if err := p.Run(context.Background(), []engine.Source{benchSource{n: b.N}}); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if st := p.Stats(); st.Acknowledged != uint64(b.N) {
				b.Fatalf("acknowledged %d of %d", st.Acknowledged, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
