package engine_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
)

// discard accepts every batch without looking at it: the pipeline's own cost is what is measured.
type discard struct{}

func (discard) Write(context.Context, *engine.Batch) error { return nil }
func (discard) Close(context.Context) error                { return nil }

// benchSource publishes n events over 4 streams in Publish calls of 256, reusing one events slice. With byID the
// streams are ByID and every event carries an id, like an API source's.
type benchSource struct {
	n    int
	byID bool
}

func (s benchSource) Run(ctx context.Context, pub engine.Publisher) error {
	in := &engine.Input{Name: "bench", Type: "file"}
	streams := make([]*engine.Stream, 4)
	for i := range streams {
		streams[i] = engine.NewStream(in, func(int64) {})
		streams[i].Key, streams[i].ByID = string(rune('a'+i)), s.byID
	}
	var ids [][]byte
	if s.byID {
		for i := range 256 {
			ids = append(ids, fmt.Appendf(nil, "00u%08d-0000-11ef-8000-000000000000", i))
		}
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
			if ids != nil {
				evs[i].ID = ids[i]
			}
		}
		if err := pub.Publish(ctx, evs[:k]); err != nil {
			return err
		}
		sent += k
	}
	return nil
}

// countIDs is an engine.OutputIDs that stores nothing and counts the ids saved.
type countIDs struct{ saved atomic.Int64 }

func (*countIDs) LoadIDs(string, string) (map[string][]string, error) { return nil, nil }
func (c *countIDs) SaveID(string, string, string, string)             { c.saved.Add(1) }
func (*countIDs) DeleteID(string, string, string)                     {}

// BenchmarkPipeline measures a pipeline delivering to discard outputs, per event: go test -bench Pipeline
// -benchmem ./engine/. The byid case follows the outputs' progress by event id (API streams), and reports the ids
// saved per event: outputs that keep in step should save next to none.
func BenchmarkPipeline(b *testing.B) {
	for _, bc := range []struct {
		name    string
		outputs int
		byID    bool
	}{{"1-output", 1, false}, {"2-outputs", 2, false}, {"2-outputs-byid", 2, true}} {
		b.Run(bc.name, func(b *testing.B) {
			outs := make([]engine.Output, bc.outputs)
			for i := range outs {
				outs[i] = engine.Output{Name: string(rune('a' + i)), Sink: discard{}}
			}
			opts := engine.Options{Outputs: outs, Logger: zerolog.Nop()}
			ids := &countIDs{}
			if bc.byID {
				opts.OutputIDs = ids
			}
			p, err := engine.New(opts)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			if err := p.Run(context.Background(), []engine.Source{benchSource{n: b.N, byID: bc.byID}}); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if st := p.Stats(); st.Acknowledged != uint64(b.N) {
				b.Fatalf("acknowledged %d of %d", st.Acknowledged, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			if bc.byID {
				b.ReportMetric(float64(ids.saved.Load())/float64(b.N), "ids-saved/event")
			}
		})
	}
}
