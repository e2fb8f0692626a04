package file

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
)

// gate replaces the syncer's fsync: each call announces itself on entered and waits for a result on results.
type gate struct {
	entered chan struct{}
	results chan error
}

func newGatedSink(t *testing.T) (*Sink, *gate, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "events.ndjson")
	s, err := New(Config{Path: path}, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{entered: make(chan struct{}), results: make(chan error)}
	// Replaced before the first Write: the syncer reads it only once a batch is pending, after taking mu.
	s.mu.Lock()
	s.syncFile = func(f *os.File) error {
		g.entered <- struct{}{}
		if err := <-g.results; err != nil {
			return err
		}
		return f.Sync()
	}
	s.mu.Unlock()
	return s, g, path
}

// wait receives from c or fails the test after a generous bound (a hang, not a timing assertion).
func wait[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

type recorder struct {
	mu       sync.Mutex
	order    []int
	released chan int
}

func newRecorder() *recorder { return &recorder{released: make(chan int, 100)} }

func (r *recorder) batch(id int, evs []engine.Event) *engine.Batch {
	return engine.NewBatchWithRelease(evs, func() {
		r.mu.Lock()
		r.order = append(r.order, id)
		r.mu.Unlock()
		r.released <- id
	})
}

func testEvents(n int) []engine.Event {
	st := engine.NewStream(&engine.Input{Name: "app", Type: "file"}, func(int64) {})
	evs := make([]engine.Event, n)
	for i := range evs {
		evs[i] = engine.Event{Time: time.Unix(0, 0), Message: []byte("m"), Stream: st, Offset: int64(i)}
	}
	return evs
}

func statusOf(b *engine.Batch) []engine.Status {
	out := make([]engine.Status, b.Len())
	for i := range out {
		out[i], _ = b.Status(i)
	}
	return out
}

// TestGroupCommit: batches written while an fsync is in progress wait for the next one, share it, and are
// released in write order only after it.
func TestGroupCommit(t *testing.T) {
	s, g, path := newGatedSink(t)
	rec := newRecorder()
	ctx := context.Background()

	if err := s.Write(ctx, rec.batch(0, testEvents(2))); err != nil {
		t.Fatal(err)
	}
	wait(t, g.entered, "the first fsync")
	var later []*engine.Batch
	for id := 1; id <= 3; id++ {
		b := rec.batch(id, testEvents(2))
		later = append(later, b)
		if err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case id := <-rec.released:
		t.Fatalf("batch %d released while its fsync is still running", id)
	default:
	}
	g.results <- nil
	if id := wait(t, rec.released, "release of batch 0"); id != 0 {
		t.Fatalf("released %d first, want 0", id)
	}
	wait(t, g.entered, "the second fsync") // one fsync for batches 1 to 3
	select {
	case id := <-rec.released:
		t.Fatalf("batch %d released before the fsync that covers it", id)
	default:
	}
	g.results <- nil
	for want := 1; want <= 3; want++ {
		if id := wait(t, rec.released, "release"); id != want {
			t.Fatalf("released %d, want %d", id, want)
		}
	}
	if got := s.Syncs(); got != 2 {
		t.Errorf("Syncs() = %d, want 2: one for batch 0, one shared by batches 1 to 3", got)
	}
	for _, b := range later {
		if got := statusOf(b); !slices.Equal(got, []engine.Status{engine.Accepted, engine.Accepted}) {
			t.Errorf("statuses %v, want accepted", got)
		}
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil || len(data) == 0 {
		t.Fatalf("file: %v, %d bytes", err, len(data))
	}
}

// TestFsyncFailureRetries: a failed fsync marks every batch it covered Retry, still releases them in order, and
// the file is reopened before the next write.
func TestFsyncFailureRetries(t *testing.T) {
	s, g, path := newGatedSink(t)
	rec := newRecorder()
	ctx := context.Background()
	b0 := rec.batch(0, testEvents(3))
	if err := s.Write(ctx, b0); err != nil {
		t.Fatal(err)
	}
	wait(t, g.entered, "fsync")
	ioErr := errors.New("input/output error")
	g.results <- ioErr
	wait(t, rec.released, "release")
	for i := range b0.Events {
		if st, err := b0.Status(i); st != engine.Retry || !errors.Is(err, ioErr) {
			t.Fatalf("event %d: %v %v, want Retry with the fsync error", i, st, err)
		}
	}
	s.mu.Lock()
	old := s.f
	s.mu.Unlock()
	b1 := rec.batch(1, testEvents(1))
	if err := s.Write(ctx, b1); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	reopened := s.f != old
	s.mu.Unlock()
	if !reopened {
		t.Error("file not reopened after a failed fsync")
	}
	wait(t, g.entered, "fsync")
	g.results <- nil
	wait(t, rec.released, "release")
	if got := statusOf(b1); got[0] != engine.Accepted {
		t.Errorf("after recovery: %v, want accepted", got)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}

// TestCloseWaitsForPendingSync: Close returns only after the batches in flight are fsync'd and released.
func TestCloseWaitsForPendingSync(t *testing.T) {
	s, g, _ := newGatedSink(t)
	rec := newRecorder()
	ctx := context.Background()
	for id := range 3 {
		if err := s.Write(ctx, rec.batch(id, testEvents(1))); err != nil {
			t.Fatal(err)
		}
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close(ctx) }()
	wait(t, g.entered, "fsync")
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while an fsync was pending", err)
	default:
	}
	g.results <- nil
	// Batches written before the first fsync started share it; any left wait for a second one.
	var closeErr error
	for done := false; !done; {
		select {
		case closeErr = <-closed:
			done = true
		case <-g.entered:
			g.results <- nil
		case <-time.After(10 * time.Second):
			t.Fatal("timed out waiting for Close")
		}
	}
	if closeErr != nil {
		t.Fatal(closeErr)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if got := rec.order; !slices.Equal(got, []int{0, 1, 2}) {
		t.Errorf("released %v, want [0 1 2]", got)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f != nil {
		t.Error("file still open after Close")
	}
}

// TestCloseContextEnds: if the shutdown budget ends while an fsync hangs, Close returns the context's error and
// the syncer still finishes once the fsync does.
func TestCloseContextEnds(t *testing.T) {
	s, g, _ := newGatedSink(t)
	rec := newRecorder()
	if err := s.Write(context.Background(), rec.batch(0, testEvents(1))); err != nil {
		t.Fatal(err)
	}
	wait(t, g.entered, "fsync")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close: %v, want context.Canceled", err)
	}
	g.results <- nil
	wait(t, rec.released, "release")
	wait(t, s.done, "the syncer to end")
}
