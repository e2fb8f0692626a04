package stdout_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
