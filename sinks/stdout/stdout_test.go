package stdout_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/sinks/stdout"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func events(first, n int) []engine.Event {
	st := engine.NewStream(&engine.Input{Name: "app", Type: "file"}, func(int64) {})
	st.Path = "/var/log/app.log"
	evs := make([]engine.Event, n)
	for i := range evs {
		evs[i] = engine.Event{Time: time.Unix(1795255200, 0), Message: fmt.Appendf(nil, "event-%d", first+i),
			Stream: st, Offset: int64(first + i)}
	}
	return evs
}

// countingWriter records each Write call, and fails with err after writing n bytes when err is set.
type countingWriter struct {
	bytes.Buffer
	calls int
	n     int
	err   error
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.calls++
	if w.err != nil {
		n := min(w.n, len(p))
		w.Buffer.Write(p[:n])
		return n, w.err
	}
	return w.Buffer.Write(p)
}

func TestWriteOneCallPerBatch(t *testing.T) {
	var w countingWriter
	s := stdout.New(&w, zerolog.Nop())
	for i := range 3 {
		b := engine.NewBatch(events(i*4, 4))
		if err := s.Write(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		for j := range b.Events {
			if st, _ := b.Status(j); st != engine.Accepted {
				t.Fatalf("batch %d event %d: %v, want accepted", i, j, st)
			}
		}
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w.calls != 3 {
		t.Errorf("%d Write calls, want one per batch", w.calls)
	}
	sc := bufio.NewScanner(&w.Buffer)
	for i := 0; sc.Scan(); i++ {
		var doc struct {
			Message string `json:"message"`
		}
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, sc.Bytes())
		}
		if want := fmt.Sprintf("event-%d", i); doc.Message != want {
			t.Fatalf("line %d: message %q, want %q", i, doc.Message, want)
		}
		if i == 11 && sc.Scan() {
			t.Fatalf("extra line %q", sc.Bytes())
		}
	}
}

func TestWriteErrorRetriesBatch(t *testing.T) {
	broken := errors.New("broken pipe")
	w := &countingWriter{n: 10, err: broken}
	s := stdout.New(w, zerolog.Nop())
	b := engine.NewBatch(events(0, 3))
	err := s.Write(context.Background(), b)
	if !errors.Is(err, broken) {
		t.Fatalf("got %v, want the writer's error", err)
	}
	for i := range b.Events {
		if st, serr := b.Status(i); st != engine.Retry || !errors.Is(serr, broken) {
			t.Errorf("event %d: %v %v, want Retry with the error", i, st, serr)
		}
	}
}

func TestInvalidUTF8Counted(t *testing.T) {
	var w bytes.Buffer
	s := stdout.New(&w, zerolog.Nop())
	evs := events(0, 2)
	evs[0].Message = []byte("\xff")
	if err := s.Write(context.Background(), engine.NewBatch(evs)); err != nil {
		t.Fatal(err)
	}
	if got := s.InvalidUTF8(); got != 1 {
		t.Errorf("InvalidUTF8 = %d, want 1", got)
	}
}

func BenchmarkWrite(b *testing.B) {
	msg := bytes.Repeat([]byte("x"), 150)
	evs := events(0, 1024)
	for i := range evs {
		evs[i].Message = msg
	}
	s := stdout.New(io.Discard, zerolog.Nop())
	batch := engine.NewBatch(evs)
	b.SetBytes(int64(len(msg) * len(evs)))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
}

// TestBrokenPipeIsAnOutputError: a reader that exited (EPIPE) is a write error: the events are retried, never
// accepted, and the broken pipe is logged once however often the engine retries.
func TestBrokenPipeIsAnOutputError(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r.Close() // the reader is gone: every write answers EPIPE
	var logs bytes.Buffer
	s := stdout.New(w, zerolog.New(&logs))
	for range 3 {
		b := engine.NewBatch(events(0, 2))
		err := s.Write(context.Background(), b)
		if !errors.Is(err, syscall.EPIPE) {
			t.Fatalf("write to a broken pipe: %v, want EPIPE", err)
		}
		for i := range b.Events {
			if st, serr := b.Status(i); st != engine.Retry || !errors.Is(serr, syscall.EPIPE) {
				t.Fatalf("event %d: %v %v, want Retry with EPIPE", i, st, serr)
			}
		}
	}
	if n := strings.Count(logs.String(), "stdout is a broken pipe"); n != 1 {
		t.Fatalf("the broken pipe logged %d times, want once; logs:\n%s", n, logs.String())
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// blockingWriter blocks every Write until release is closed, like a pipe whose reader stopped reading.
type blockingWriter struct {
	release chan struct{}
	mu      sync.Mutex
	buf     bytes.Buffer
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// TestBlockedWriteEndsWithItsContext: a write nobody reads returns when ctx ends, with its events retried, so the
// engine's shutdown budget holds; the next Write and Close wait for the blocked call, and nothing is lost.
func TestBlockedWriteEndsWithItsContext(t *testing.T) {
	w := &blockingWriter{release: make(chan struct{})}
	released := false
	unblock := func() {
		if !released {
			released = true
			close(w.release)
		}
	}
	defer unblock()
	s := stdout.New(w, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	b := engine.NewBatch(events(0, 2))
	done := make(chan error, 1)
	go func() { done <- s.Write(ctx, b) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("blocked write: %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		unblock()
		t.Fatal("Write stays blocked after its context ended")
	}
	for i := range b.Events {
		if st, _ := b.Status(i); st != engine.Retry {
			t.Fatalf("event %d of the blocked write: %v, want Retry", i, st)
		}
	}
	// The next call waits for the blocked one: with an ended context it gives up at once.
	b2 := engine.NewBatch(events(2, 1))
	if err := s.Write(ctx, b2); !errors.Is(err, context.Canceled) {
		t.Fatalf("write behind a blocked one: %v, want context.Canceled", err)
	}
	if err := s.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("close with a blocked write: %v, want context.Canceled", err)
	}
	unblock()
	if err := s.Write(context.Background(), engine.NewBatch(events(2, 1))); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(w.buf.String(), "\n"); got != 3 {
		t.Fatalf("%d lines written, want 3 (the blocked batch, then the retried one)", got)
	}
}
