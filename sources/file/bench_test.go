package file_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/sources/file"
)

type discardPublisher struct{ events int }

func (p *discardPublisher) Publish(_ context.Context, events []engine.Event) error {
	p.events += len(events)
	return nil
}

// BenchmarkReader reads a 64 MiB file of ~150-byte lines in once mode into a discarding publisher.
func BenchmarkReader(b *testing.B) {
	for _, enc := range []string{"utf-8", "latin1"} {
		b.Run(enc, func(b *testing.B) {
			dir := b.TempDir()
			path := filepath.Join(dir, "big.log")
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			w := bufio.NewWriterSize(f, 1<<20)
			var size, lines int
			pad := strings.Repeat("abcdefghij", 13)
			for size < 64<<20 {
				n, _ := fmt.Fprintf(w, "2026-11-21T10:00:00.%06dZ INFO %s\n", lines%1000000, pad[:lines%30+100])
				size += n
				lines++
			}
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
			_ = f.Close()
			cfg := file.Config{Name: "bench", Paths: []string{filepath.Join(dir, "*.log")}, Encoding: enc}
			cfg.SetDefaults()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			var allocsBefore, allocsAfter testingAllocs
			allocsBefore.read()
			for i := 0; i < b.N; i++ {
				src, err := file.New(cfg, newRegistry(), file.Options{Once: true}, zerolog.Nop())
				if err != nil {
					b.Fatal(err)
				}
				pub := &discardPublisher{}
				if err := src.Run(context.Background(), pub); err != nil {
					b.Fatal(err)
				}
				if pub.events != lines {
					b.Fatalf("%d events, want %d", pub.events, lines)
				}
			}
			allocsAfter.read()
			b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(allocsAfter.n-allocsBefore.n)/float64(lines*b.N), "allocs/line")
		})
	}
}
