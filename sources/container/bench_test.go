package container_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/sources/container"
	"github.com/flickerlog/flicker/sources/container/containertest"
	"github.com/flickerlog/flicker/sources/file"
)

type discardPublisher struct{ events int }

func (p *discardPublisher) Publish(_ context.Context, events []engine.Event) error {
	p.events += len(events)
	return nil
}

// records are the lines of one message of the given stream as a runtime writes them.
type records func(stream, msg string, when time.Time) [][]byte

// criRecords writes msg as containerd does on a UTC node: P records of 16 KiB, then the F record.
func criRecords(stream, msg string, when time.Time) [][]byte {
	s := container.StreamStdout
	if stream == "stderr" {
		s = container.StreamStderr
	}
	var out [][]byte
	for len(msg) > containertest.DefaultContainerdMaxRecord {
		out = append(out, containertest.Containerd.AppendRecord(nil, when, s, true, []byte(msg[:containertest.DefaultContainerdMaxRecord])))
		msg = msg[containertest.DefaultContainerdMaxRecord:]
	}
	return append(out, containertest.Containerd.AppendRecord(nil, when, s, false, []byte(msg)))
}

// BenchmarkDockerReader reads a 64 MiB json-file log of 120-200-byte messages (every 50th one 40 KiB, in partial
// records) in once mode into a discarding publisher: the format layer's cost next to sources/file's
// BenchmarkReader.
func BenchmarkDockerReader(b *testing.B) {
	benchReader(b, file.FormatDocker, containertest.Records, 50)
}

// BenchmarkCRIReader is BenchmarkDockerReader for a containerd CRI log.
func BenchmarkCRIReader(b *testing.B) { benchReader(b, file.FormatCRI, criRecords, 50) }

// BenchmarkDockerReaderWhole is BenchmarkDockerReader with 120-200-byte messages only, as the throughput goal's:
// every message is one record.
func BenchmarkDockerReaderWhole(b *testing.B) {
	benchReader(b, file.FormatDocker, containertest.Records, 0)
}

// BenchmarkCRIReaderWhole is BenchmarkCRIReader with 120-200-byte messages only.
func BenchmarkCRIReaderWhole(b *testing.B) { benchReader(b, file.FormatCRI, criRecords, 0) }

// benchReader benchmarks format over a log whose every bigEvery-th message is 40 KiB (none when 0).
func benchReader(b *testing.B, format string, recs records, bigEvery int) {
	dir := b.TempDir()
	path := filepath.Join(dir, "app.log")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var size, messages int
	pad := strings.Repeat("abcdefghij", 20)
	when := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	for size < 64<<20 {
		msg := "INFO " + pad[:115+messages%80]
		if bigEvery > 0 && messages%bigEvery == bigEvery-1 {
			msg = strings.Repeat(pad, 200)
		}
		for _, r := range recs("stdout", msg, when.Add(time.Duration(messages))) {
			n, _ := w.Write(r)
			size += n
		}
		messages++
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	_ = f.Close()
	cfg := file.Config{Name: "bench", Paths: []string{filepath.Join(dir, "*.log")}, Format: format}
	cfg.SetDefaults()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < b.N; i++ {
		src, err := file.New(cfg, newRegistry(), file.Options{Once: true, Formats: container.Formats()}, zerolog.Nop())
		if err != nil {
			b.Fatal(err)
		}
		pub := &discardPublisher{}
		if err := src.Run(context.Background(), pub); err != nil {
			b.Fatal(err)
		}
		if pub.events != messages {
			b.Fatalf("%d events, want %d", pub.events, messages)
		}
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(messages)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(messages*b.N), "allocs/message")
}

// The format layer allocates nothing per message: decoding, joining and emitting use the source's arenas and
// buffers, for either format. Not parallel, so that the allocation count is this test's alone.
func TestReaderAllocations(t *testing.T) {
	for _, tt := range []struct {
		name, format string
		recs         records
		quote        string // around every message: a quote makes every Docker record's log escaped
	}{
		{"docker", file.FormatDocker, containertest.Records, ""},
		{"docker-escaped", file.FormatDocker, containertest.Records, `"`},
		{"cri", file.FormatCRI, criRecords, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			f, err := os.Create(filepath.Join(dir, "app.log"))
			if err != nil {
				t.Fatal(err)
			}
			w := bufio.NewWriterSize(f, 1<<20)
			const messages = 20000
			when := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
			for i := range messages {
				stream := []string{"stdout", "stderr"}[i%2]
				for _, r := range tt.recs(stream, tt.quote+strings.Repeat("m", 150+i%50)+tt.quote, when) {
					if _, err := w.Write(r); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			_ = f.Close()
			cfg := file.Config{Name: "allocs", Paths: []string{filepath.Join(dir, "*.log")}, Format: tt.format}
			cfg.SetDefaults()
			src, err := file.New(cfg, newRegistry(), file.Options{Once: true, Formats: container.Formats()}, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			pub := &discardPublisher{}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			if err := src.Run(context.Background(), pub); err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&after)
			if pub.events != messages {
				t.Fatalf("%d events, want %d", pub.events, messages)
			}
			if per := float64(after.Mallocs-before.Mallocs) / messages; per > 0.05 {
				t.Errorf("%.3f allocations per message, want none beyond the arenas' chunks", per)
			}
		})
	}
}

// A whole message in one CRI record is shipped from the bytes read, as a plain line is, not copied into a buffer
// of its own: reading a CRI log takes no more arena chunks than reading the same file as plain lines. Events are
// never acknowledged here, so every chunk either read holds stays allocated.
func TestCRIWholeMessagesNotCopied(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "app.log"))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	when := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	size := 0
	for i := 0; size < 3<<20; i++ {
		for _, r := range criRecords([]string{"stdout", "stderr"}[i%2], strings.Repeat("m", 120+i%80), when) {
			n, _ := w.Write(r)
			size += n
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	chunks := func(format string) uint64 {
		cfg := file.Config{Name: "chunks", Paths: []string{filepath.Join(dir, "*.log")}, Format: format}
		cfg.SetDefaults()
		src, err := file.New(cfg, newRegistry(), file.Options{Once: true, Formats: container.Formats()}, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		if err := src.Run(context.Background(), &discardPublisher{}); err != nil {
			t.Fatal(err)
		}
		return src.Stats().ChunksAllocated
	}
	plain, cri := chunks(file.FormatPlain), chunks(file.FormatCRI)
	if cri > plain {
		t.Errorf("format cri allocated %d arena chunks, the same file read as plain lines %d: messages copied", cri,
			plain)
	}
}
