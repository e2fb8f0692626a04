package enginetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
)

// SourceHarness adapts a pull source (files, container logs, an API) to RunSourceSuite.
type SourceHarness interface {
	// Prepare stores the content the source will read: one stream per key, its messages in order. Messages hold
	// no newline. It is called once, before Source.
	Prepare(t *testing.T, content map[string][][]byte)
	// Source returns a new source in once mode (it returns nil after publishing what it found) that resumes at
	// the positions acknowledged to the harness's earlier sources, like a restart with a registry.
	Source(t *testing.T) engine.Source
}

// RunSourceSuite checks a pull source together with the pipeline's delivery promises: every event delivered in
// order per stream; after a run whose output failed some events and was stopped midway, a restart delivers
// exactly the events not acknowledged; an output that accepted an event never gets it again while another output
// retries it, nor after a restart when its streams have a Key (per-output positions). newHarness returns a fresh
// harness per subtest.
func RunSourceSuite(t *testing.T, newHarness func(t *testing.T) SourceHarness) {
	t.Run("delivers every event in order per stream to every output", func(t *testing.T) {
		h := newHarness(t)
		content := SuiteContent(3, 200)
		h.Prepare(t, content)
		a, b := NewMemorySink(), NewMemorySink()
		runOnce(t, h.Source(t), a, b)
		CheckStreams(t, content, a.Messages(), false)
		CheckStreams(t, content, b.Messages(), false)
	})

	t.Run("fail some, retry, restart, and get exactly the unacknowledged ones again", func(t *testing.T) {
		h := newHarness(t)
		content := SuiteContent(3, 300)
		h.Prepare(t, content)
		stuck := content["s1"][170]
		sink := NewMemorySink()
		// Transient retries and rejections before the stuck event; a stuck event the output never takes.
		sink.RetryWhen(func(ev *engine.Event, attempt int) bool {
			return bytes.Equal(ev.Message, stuck) || (MessageIndex(ev.Message)%11 == 3 && attempt < 2)
		})
		sink.RejectWhen(func(ev *engine.Event) bool { return MessageIndex(ev.Message)%17 == 5 })
		p := newPipeline(t, 100*time.Millisecond, sink)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx, []engine.Source{h.Source(t)}) }()
		Eventually(t, time.Minute, func() bool {
			return sink.AttemptsOf(stuck) >= 3
		}, "the stuck event was not retried")
		cancel()
		if err := waitRun(t, done); err != nil {
			t.Fatalf("first run: %v", err)
		}
		if sink.Closes() != 1 {
			t.Fatalf("sink closed %d times, want 1", sink.Closes())
		}

		// What is done in the first run: accepted or rejected (no dead letter: counted and done). Each stream
		// must come again from its first event not done.
		doneMsgs := make(map[string]bool)
		for _, r := range sink.Records() {
			doneMsgs[string(r.Message)] = true
		}
		for _, r := range sink.Rejected() {
			doneMsgs[string(r.Message)] = true
		}
		want := make(map[string][][]byte)
		var pending, total int
		for name, msgs := range content {
			first := 0
			for first < len(msgs) && doneMsgs[string(msgs[first])] {
				first++
			}
			want[name] = msgs[first:]
			pending += len(msgs) - first
			total += len(msgs)
		}
		if pending == 0 || pending == total {
			t.Fatalf("the first run left %d of %d events unacknowledged: the test needs some of both", pending, total)
		}

		again := NewMemorySink()
		runOnce(t, h.Source(t), again)
		CheckStreams(t, want, again.Messages(), false)
	})

	t.Run("an output that accepted an event never gets it again while another retries it", func(t *testing.T) {
		h := newHarness(t)
		content := SuiteContent(2, 300)
		h.Prepare(t, content)
		retrying, steady := NewMemorySink(), NewMemorySink()
		retrying.RetryWhen(func(ev *engine.Event, attempt int) bool { return MessageIndex(ev.Message)%5 == 1 && attempt < 2 })
		retrying.FailNext(2, nil)
		runOnce(t, h.Source(t), retrying, steady)
		CheckStreams(t, content, steady.Messages(), false)
		for _, r := range steady.Records() {
			if n := steady.Attempts(r.Stream, r.Pos); n != 1 {
				t.Fatalf("the steady output got %q %d times", r.Message, n)
			}
		}
		// The retrying output gets each event once accepted; retried ones may come after later ones of their
		// batch, the others in order.
		CheckOnceInOrder(t, content, retrying.Messages(), func(m []byte) bool { return MessageIndex(m)%5 == 1 })
	})

	t.Run("after a stop with an output down, a restart gives it everything once and the healthy output nothing", func(t *testing.T) {
		h := newHarness(t)
		content := SuiteContent(3, 70) // within the queue's 256 events: the down output holds them all
		h.Prepare(t, content)
		positions := NewMemoryPositions()
		healthy, down := NewMemorySink(), NewMemorySink()
		down.Block()
		p := newPipelineWith(t, 20*time.Millisecond, positions, healthy, down)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx, []engine.Source{h.Source(t)}) }()
		Eventually(t, time.Minute, func() bool { return healthy.Len() == 210 }, "the healthy output did not get everything")
		cancel()
		if err := waitRun(t, done); err != nil {
			t.Fatalf("first run: %v", err)
		}

		healthy2, down2 := NewMemorySink(), NewMemorySink()
		runOnceWith(t, h.Source(t), positions, healthy2, down2)
		CheckStreams(t, content, down2.Messages(), false)
		if healthy.Records()[0].Stream.Key == "" {
			// Streams without a Key keep no per-output positions: every output gets what was not committed.
			CheckStreams(t, content, healthy2.Messages(), false)
			return
		}
		if n := healthy2.Len(); n != 0 {
			t.Fatalf("the healthy output got %d events again", n)
		}
		if n := positions.Streams() + positions.IDStreams(); n != 0 {
			t.Fatalf("%d streams keep per-output positions or ids after every output caught up", n)
		}
		if errs := positions.Errors(); len(errs) > 0 {
			t.Fatal(errs)
		}
	})
}

func newPipeline(t testing.TB, drain time.Duration, sinks ...*MemorySink) *engine.Pipeline {
	t.Helper()
	return newPipelineWith(t, drain, nil, sinks...)
}

// newPipelineWith is newPipeline with per-output positions and ids kept in positions (nil: none).
func newPipelineWith(t testing.TB, drain time.Duration, positions *MemoryPositions, sinks ...*MemorySink) *engine.Pipeline {
	t.Helper()
	var (
		byPos engine.OutputPositions
		byID  engine.OutputIDs
	)
	if positions != nil {
		byPos, byID = positions, positions
	}
	outs := make([]engine.Output, len(sinks))
	for i, s := range sinks {
		outs[i] = engine.Output{Name: string(rune('a' + i)), Sink: s,
			Retry: engine.RetryPolicy{Initial: time.Millisecond, Max: 4 * time.Millisecond}}
	}
	p, err := engine.New(engine.Options{
		Batch:        engine.BatchLimits{MaxEvents: 32, MaxWait: 2 * time.Millisecond},
		Queue:        engine.QueueLimits{MaxEvents: 256},
		Outputs:      outs,
		DrainTimeout: drain,
		Logger:       zerolog.Nop(),

		OutputPositions: byPos,
		OutputIDs:       byID,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// runOnce runs src through a pipeline to sinks until it drained.
func runOnce(t testing.TB, src engine.Source, sinks ...*MemorySink) {
	t.Helper()
	runOnceWith(t, src, nil, sinks...)
}

// runOnceWith is runOnce with per-output positions kept in positions.
func runOnceWith(t testing.TB, src engine.Source, positions *MemoryPositions, sinks ...*MemorySink) {
	t.Helper()
	p := newPipelineWith(t, time.Second, positions, sinks...)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := p.Run(ctx, []engine.Source{src}); err != nil {
		t.Fatalf("run: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the pipeline did not drain within a minute")
	}
	if q := p.Stats().QueueEvents; q != 0 {
		t.Fatalf("drained pipeline holds %d events", q)
	}
}

func waitRun(t testing.TB, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatal("Run did not return within a minute")
		return nil
	}
}

// MessageIndex returns the index SuiteContent put at the end of a message: its position in its stream.
func MessageIndex(m []byte) int {
	f := bytes.Fields(m)
	n := 0
	for _, c := range f[len(f)-1] {
		n = n*10 + int(c-'0')
	}
	return n
}

// CheckOnceInOrder checks that got holds every message of want (made by SuiteContent) exactly once and that,
// leaving out the messages for which reordered is true (events an output retried), each stream's messages are in
// order.
func CheckOnceInOrder(t testing.TB, want map[string][][]byte, got [][]byte, reordered func([]byte) bool) {
	t.Helper()
	count := make(map[string]int, len(got))
	for _, m := range got {
		count[string(m)]++
	}
	var stable [][]byte
	stableWant := make(map[string][][]byte)
	for name, msgs := range want {
		for _, m := range msgs {
			if count[string(m)] != 1 {
				t.Fatalf("message %q accepted %d times, want 1", m, count[string(m)])
			}
			if !reordered(m) {
				stableWant[name] = append(stableWant[name], m)
			}
		}
	}
	for _, m := range got {
		if !reordered(m) {
			stable = append(stable, m)
		}
	}
	if len(got) != len(count) {
		t.Fatalf("got %d messages, %d distinct", len(got), len(count))
	}
	CheckStreams(t, stableWant, stable, false)
}
