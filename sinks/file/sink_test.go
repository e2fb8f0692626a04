package file_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/sinks/file"
)

func newSink(t *testing.T, cfg file.Config) *file.Sink {
	t.Helper()
	s, err := file.New(cfg, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func closeSink(t *testing.T, s *file.Sink) {
	t.Helper()
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("close: %v", err)
	}
}

func TestWriteReadBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out", "nested", "events.ndjson")
	s := newSink(t, file.Config{Path: path})
	st := testStream()
	var rel releases
	var batches []*engine.Batch
	for i := range 10 {
		b := rel.batch(i, events(st, i*25, 25))
		if err := s.Write(context.Background(), b); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		batches = append(batches, b)
	}
	closeSink(t, s)

	if got := rel.released(); !slices.Equal(got, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Fatalf("released %v, want every batch once in write order", got)
	}
	for _, b := range batches {
		requireStatus(t, b, engine.Accepted)
	}
	lines := readLines(t, path)
	if got, want := messages(lines), wantMessages(0, 250); !slices.Equal(got, want) {
		t.Fatalf("read back %d lines %v..., want %d", len(got), got[:min(3, len(got))], len(want))
	}
	if lines[249].Log.Offset != 24900 {
		t.Errorf("last offset %d, want 24900", lines[249].Log.Offset)
	}
}

// TestAppendsToExistingFile: earlier content is kept, and a partial last line left by a crash is ended so that
// new events start on a line of their own.
func TestAppendsToExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.ndjson")
	if err := os.WriteFile(path, []byte(`{"message":"before"}`+"\n"+`{"message":"cut`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newSink(t, file.Config{Path: path})
	if err := s.Write(context.Background(), engine.NewBatch(events(testStream(), 0, 2))); err != nil {
		t.Fatal(err)
	}
	closeSink(t, s)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := splitLines(data)
	if len(lines) != 4 || lines[0] != `{"message":"before"}` || lines[1] != `{"message":"cut` {
		t.Fatalf("lines %q: want the two old lines, then two events", lines)
	}
}

func splitLines(data []byte) []string {
	var out []string
	for len(data) > 0 {
		i := slices.Index(data, '\n')
		if i < 0 {
			return append(out, string(data))
		}
		out = append(out, string(data[:i]))
		data = data[i+1:]
	}
	return out
}

// TestWriteAfterDirectoryRemoved: the file's directory disappears while running; writes report Retry (not a panic
// and not success into an unlinked file) until the directory is back.
func TestWriteAfterDirectoryRemoved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	path := filepath.Join(dir, "events.ndjson")
	s := newSink(t, file.Config{Path: path})
	defer closeSink(t, s)
	st := testStream()
	if err := s.Write(context.Background(), engine.NewBatch(events(st, 0, 5))); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		b := engine.NewBatch(events(st, 5, 5))
		err := s.Write(context.Background(), b)
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("write after removal: %v, want a not-exist error", err)
		}
		requireStatus(t, b, engine.Retry)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var rel releases
	b := rel.batch(0, events(st, 5, 5))
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatalf("write once the directory is back: %v", err)
	}
	closeSink(t, s)
	requireStatus(t, b, engine.Accepted)
	if got, want := messages(readLines(t, path)), wantMessages(5, 5); !slices.Equal(got, want) {
		t.Errorf("new file holds %v, want %v", got, want)
	}
}

// TestFileMovedAway: when something renames the file (an external rotation), the next batch goes to a new file at
// the path and nothing is lost.
func TestFileMovedAway(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.ndjson")
	s := newSink(t, file.Config{Path: path})
	st := testStream()
	if err := s.Write(context.Background(), engine.NewBatch(events(st, 0, 3))); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".old"); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), engine.NewBatch(events(st, 3, 3))); err != nil {
		t.Fatal(err)
	}
	closeSink(t, s)
	if got := messages(readLines(t, path+".old")); !slices.Equal(got, wantMessages(0, 3)) {
		t.Errorf("moved file holds %v", got)
	}
	if got := messages(readLines(t, path)); !slices.Equal(got, wantMessages(3, 3)) {
		t.Errorf("new file holds %v", got)
	}
}

// TestWriteErrorRetries writes to /dev/full, where every write fails with ENOSPC.
func TestWriteErrorRetries(t *testing.T) {
	s := newSink(t, file.Config{Path: "/dev/full"})
	defer closeSink(t, s)
	b := engine.NewBatch(events(testStream(), 0, 3))
	err := s.Write(context.Background(), b)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("got %v, want ENOSPC", err)
	}
	requireStatus(t, b, engine.Retry)
}

func TestWriteAfterClose(t *testing.T) {
	s := newSink(t, file.Config{Path: filepath.Join(t.TempDir(), "events.ndjson")})
	closeSink(t, s)
	if err := s.Write(context.Background(), engine.NewBatch(events(testStream(), 0, 1))); !errors.Is(err,
		file.ErrClosed) {
		t.Fatalf("got %v, want ErrClosed", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("second close: %v", err)
	}
}

func TestEmptyBatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.ndjson")
	s := newSink(t, file.Config{Path: path})
	if err := s.Write(context.Background(), engine.NewBatch(nil)); err != nil {
		t.Fatal(err)
	}
	closeSink(t, s)
	if lines := readLines(t, path); len(lines) != 0 {
		t.Errorf("%d lines, want none", len(lines))
	}
}

func TestInvalidUTF8Counted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.ndjson")
	s := newSink(t, file.Config{Path: path})
	evs := events(testStream(), 0, 3)
	evs[1].Message = []byte("bad \xff byte")
	if err := s.Write(context.Background(), engine.NewBatch(evs)); err != nil {
		t.Fatal(err)
	}
	closeSink(t, s)
	if got := s.InvalidUTF8(); got != 1 {
		t.Errorf("InvalidUTF8 = %d, want 1", got)
	}
	if got := readLines(t, path)[1].Message; got != "bad \uFFFD byte" {
		t.Errorf("message %q", got)
	}
}
