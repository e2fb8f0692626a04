package file_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/sources/file"
)

func TestOnceMode(t *testing.T) {
	for _, flush := range []bool{false, true} {
		t.Run(fmt.Sprintf("flush_partial=%v", flush), func(t *testing.T) {
			dir := t.TempDir()
			a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
			writeFile(t, a, "a1\na2\npartial")
			writeFile(t, b, "b1\n")
			cfg := testConfig(dir, func(c *file.Config) { c.FlushPartialOnClose = flush; c.MaxOpenFiles = 1 })
			src, err := file.New(cfg, newRegistry(), file.Options{Once: true}, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			pub := &recPublisher{}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := src.Run(ctx, pub); err != nil || ctx.Err() != nil {
				t.Fatalf("run: %v (ctx %v)", err, ctx.Err())
			}
			wantA := []string{"a1", "a2"}
			if flush {
				wantA = append(wantA, "partial")
			}
			if got := pub.messages(a); !equalStrings(got, wantA) {
				t.Errorf("a: %q, want %q", got, wantA)
			}
			if got := pub.messages(b); !equalStrings(got, []string{"b1"}) {
				t.Errorf("b: %q", got)
			}
			if s := src.Stats(); s.FilesOpen != 0 {
				t.Errorf("%d files left open", s.FilesOpen)
			}
		})
	}
}

// countingPublisher checks per-stream order and counts events without keeping them.
type countingPublisher struct {
	mu        sync.Mutex
	next      map[string]int64 // path -> next expected offset
	count     map[string]int
	firstDone map[string]int // per path: how many paths had events when the first file completed
	perFile   int
	check     func()
	err       error
}

func (p *countingPublisher) Publish(ctx context.Context, events []engine.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.check != nil {
		p.check()
	}
	for _, e := range events {
		path := e.Stream.Path
		if e.Offset != p.next[path] && p.err == nil {
			p.err = fmt.Errorf("%s: event at %d, expected %d", path, e.Offset, p.next[path])
		}
		p.next[path] = e.Pos
		p.count[path]++
		if p.count[path] == p.perFile && len(p.firstDone) == 0 {
			p.firstDone[path] = len(p.count)
		}
	}
	return ctx.Err()
}

func (p *countingPublisher) complete(n int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	done := 0
	for _, c := range p.count {
		if c == p.perFile {
			done++
		}
	}
	return done == n
}

func runMany(t *testing.T, files, linesPerFile, maxOpen int) *countingPublisher {
	dir := t.TempDir()
	line := strings.Repeat("x", 90)
	var b strings.Builder
	for i := 0; i < linesPerFile; i++ {
		b.WriteString(line + "\n")
	}
	for i := 0; i < files; i++ {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("f%03d.log", i)), b.String())
	}
	cfg := testConfig(dir, func(c *file.Config) { c.MaxOpenFiles = maxOpen })
	src, err := file.New(cfg, newRegistry(), file.Options{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	pub := &countingPublisher{next: map[string]int64{}, count: map[string]int{}, firstDone: map[string]int{},
		perFile: linesPerFile}
	pub.check = func() {
		if open := src.Stats().FilesOpen; open > int64(maxOpen) && pub.err == nil {
			pub.err = fmt.Errorf("%d files open, limit %d", open, maxOpen)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, pub) }()
	eventually(t, "every file read", func() bool { return pub.complete(files) })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if pub.err != nil {
		t.Fatal(pub.err)
	}
	return pub
}

func TestManyFilesFairProgress(t *testing.T) {
	// 200 files of ~273 KiB: each needs two reads. Round-robin turns mean that by the time the first file is
	// complete, every file has had a turn.
	pub := runMany(t, 200, 3000, file.DefaultMaxOpenFiles)
	for path, seen := range pub.firstDone {
		if seen != 200 {
			t.Errorf("when %s was complete only %d files had events", path, seen)
		}
	}
}

func TestMaxOpenFilesTakesTurns(t *testing.T) {
	// 12 files needing several reads each, 3 handles: every file completes, in order, never over the limit.
	runMany(t, 12, 8000, 3)
}
