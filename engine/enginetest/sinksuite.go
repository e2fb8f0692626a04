package enginetest

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
)

// RunSinkSuite checks that a sink keeps the engine.Sink contract. newSink returns a fresh sink and a function that
// reads back the messages it delivered (decoded to the original message bytes), called after the sink is closed.
// Every sink package runs it.
func RunSinkSuite(t *testing.T, newSink func(t *testing.T) (engine.Sink, func() [][]byte)) {
	t.Run("delivers every event of several batches in order per stream", func(t *testing.T) {
		sink, readBack := newSink(t)
		content := SuiteContent(3, 250)
		src := NewPullSource(&engine.Input{Name: "suite", Type: "test"}, content)
		p, err := engine.New(engine.Options{
			Batch:   engine.BatchLimits{MaxEvents: 64, MaxWait: 5 * time.Millisecond},
			Outputs: []engine.Output{{Name: "under-test", Sink: sink}},
			Logger:  zerolog.Nop(),
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		if err := p.Run(ctx, []engine.Source{src}); err != nil {
			t.Fatalf("run: %v", err)
		}
		if ctx.Err() != nil {
			t.Fatal("the pipeline did not drain: events not accepted within a minute")
		}
		CheckStreams(t, content, readBack(), false)
	})

	t.Run("accepts an empty batch and closes", func(t *testing.T) {
		sink, readBack := newSink(t)
		b := engine.NewBatch(nil)
		if err := sink.Write(t.Context(), b); err != nil {
			t.Fatalf("write of an empty batch: %v", err)
		}
		if err := sink.Close(t.Context()); err != nil {
			t.Fatalf("close: %v", err)
		}
		if got := readBack(); len(got) != 0 {
			t.Fatalf("an empty batch delivered %d messages", len(got))
		}
	})

	t.Run("marks every event of a directly written batch", func(t *testing.T) {
		sink, readBack := newSink(t)
		content := SuiteContent(2, 5)
		b := engine.NewBatch(SuiteEvents(content))
		if err := sink.Write(t.Context(), b); err != nil {
			t.Fatalf("write: %v", err)
		}
		if b.DeadLetter() {
			t.Fatal("a sink's batch reports DeadLetter")
		}
		for i := range b.Len() {
			if st, err := b.Status(i); st == engine.Rejected {
				t.Fatalf("event %d rejected: %v", i, err)
			}
		}
		if err := sink.Close(t.Context()); err != nil {
			t.Fatalf("close: %v", err)
		}
		_ = readBack()
	})
}

// SuiteContent returns streams "s0".."s<n-1>" of perStream messages each. Messages carry characters encoders must
// escape (quote, backslash, tab, non-ASCII) and end with the stream name and index, which CheckStreams parses.
func SuiteContent(streams, perStream int) map[string][][]byte {
	content := make(map[string][][]byte, streams)
	for s := range streams {
		name := "s" + strconv.Itoa(s)
		msgs := make([][]byte, perStream)
		for i := range msgs {
			msgs[i] = fmt.Appendf(nil, "msg \"q\" \\ \t é %s %06d", name, i)
		}
		content[name] = msgs
	}
	return content
}

// SuiteEvents returns the events of content, stream by stream, each stream with its own engine.Stream.
func SuiteEvents(content map[string][][]byte) []engine.Event {
	in := &engine.Input{Name: "suite", Type: "test"}
	var evs []engine.Event
	for name, msgs := range content {
		st := engine.NewStream(in, func(int64) {})
		st.Path = name
		for i, m := range msgs {
			evs = append(evs, engine.Event{Time: time.Unix(1, 0).UTC(), Message: m, Stream: st,
				Offset: int64(i), Pos: int64(i + 1)})
		}
	}
	return evs
}

// CheckStreams checks that got holds the messages of every stream of want in order per stream. With
// allowDuplicates, a message may repeat (at-least-once after a retry) but must not come before an earlier one of
// its stream first arrived; without, each arrives exactly once.
func CheckStreams(t testing.TB, want map[string][][]byte, got [][]byte, allowDuplicates bool) {
	t.Helper()
	byStream := make(map[string][][]byte)
	for _, m := range got {
		f := bytes.Fields(m)
		if len(f) < 2 {
			t.Fatalf("unexpected message %q", m)
		}
		name := string(f[len(f)-2])
		byStream[name] = append(byStream[name], m)
	}
	for name, msgs := range want {
		g := byStream[name]
		if allowDuplicates {
			g = firstArrivals(g)
		}
		if len(g) != len(msgs) {
			t.Errorf("stream %s: got %d messages, want %d", name, len(g), len(msgs))
			continue
		}
		for i := range msgs {
			if !bytes.Equal(g[i], msgs[i]) {
				t.Errorf("stream %s: message %d is %q, want %q", name, i, g[i], msgs[i])
				break
			}
		}
	}
	for name := range byStream {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected stream %s", name)
		}
	}
}

// CheckStreamsExact checks that got is want: one stream's messages, each once, in order.
func CheckStreamsExact(t testing.TB, want, got [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("message %d is %.40q, want %.40q", i, got[i], want[i])
		}
	}
}

func firstArrivals(msgs [][]byte) [][]byte {
	seen := make(map[string]bool, len(msgs))
	var out [][]byte
	for _, m := range msgs {
		if !seen[string(m)] {
			seen[string(m)] = true
			out = append(out, m)
		}
	}
	return out
}
