package file_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/sinks/file"
)

// BenchmarkWrite measures the file sink with real fsyncs. window is how many batches may be held at once, as the
// engine's queue would allow: 1 means one fsync per batch, larger windows let batches share an fsync. One op is
// one batch; MB/s counts message bytes (the input), not the larger JSON written.
func BenchmarkWrite(b *testing.B) {
	for _, c := range []struct {
		name          string
		window, batch int
	}{
		{"window1_batch1024", 1, 1024},
		{"window16_batch1024", 16, 1024},
		{"window16_batch4096", 16, 4096},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, err := file.New(file.Config{Path: filepath.Join(b.TempDir(), "events.ndjson")}, zerolog.Nop())
			if err != nil {
				b.Fatal(err)
			}
			msg := bytes.Repeat([]byte("x"), 150)
			evs := events(testStream(), 0, c.batch)
			for i := range evs {
				evs[i].Message = msg
			}
			slots := make(chan struct{}, c.window)
			for range c.window {
				slots <- struct{}{}
			}
			b.SetBytes(int64(len(msg) * c.batch))
			b.ReportAllocs()
			for b.Loop() {
				<-slots
				batch := engine.NewBatchWithRelease(evs, func() { slots <- struct{}{} })
				if err := s.Write(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.Close(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N*c.batch)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(b.N)/float64(max(s.Syncs(), 1)), "batches/fsync")
		})
	}
}
