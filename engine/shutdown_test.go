package engine_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
)

func TestBackpressureBoundsTheQueueInBytes(t *testing.T) {
	content := map[string][][]byte{"s": make([][]byte, 400)}
	for i := range content["s"] {
		content["s"][i] = bytes.Repeat([]byte{'x'}, 40+i%100) // sizes vary: 200 to 299 with the overhead
	}
	const maxBytes = 5000
	src := enginetest.NewPullSource(testInput, content)
	src.Chunk = 3
	sink := enginetest.NewMemorySink()
	sink.Block()
	p := newPipeline(t, engine.Options{
		Queue:   engine.QueueLimits{MaxBytes: maxBytes},
		Outputs: []engine.Output{output("a", sink)},
	})
	stop := start(t, p, src)

	enginetest.Eventually(t, time.Minute, func() bool {
		st := p.Stats()
		return sink.Writes() > 0 && st.QueueBytes+300 > maxBytes
	}, "the queue did not fill up")
	// Publish is blocked now: nothing is delivered, so what got in is what the queue holds, and it stays within
	// the bound plus one event however long we look.
	for range 50 {
		st := p.Stats()
		if st.QueueBytes > maxBytes+299 {
			t.Fatalf("queue holds %d bytes, bound %d", st.QueueBytes, maxBytes)
		}
		if st.EventsIn >= 400 || st.Acknowledged != 0 || st.QueueEvents >= 400 {
			t.Fatalf("%d events in, %d acknowledged, %d queued while the output is blocked", st.EventsIn,
				st.Acknowledged, st.QueueEvents)
		}
		time.Sleep(time.Millisecond)
	}
	sink.Unblock()
	enginetest.Eventually(t, time.Minute, func() bool { return src.Acked("s") == 400 }, "not everything acknowledged")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	enginetest.CheckStreamsExact(t, content["s"], sink.Messages())
}

func TestAnEventLargerThanTheQueuePassesAlone(t *testing.T) {
	big := bytes.Repeat([]byte{'b'}, 10_000)
	content := map[string][][]byte{"s": {[]byte("small"), big, []byte("after")}}
	src := enginetest.NewPullSource(testInput, content)
	sink := enginetest.NewMemorySink()
	p := newPipeline(t, engine.Options{
		Queue:   engine.QueueLimits{MaxBytes: 1000},
		Outputs: []engine.Output{output("a", sink)},
	})
	runToEnd(t, p, src)
	enginetest.CheckStreamsExact(t, content["s"], sink.Messages())
}

func TestDrainTimeoutAbandonsAHangingOutput(t *testing.T) {
	content := enginetest.SuiteContent(2, 100)
	src := enginetest.NewPullSource(testInput, content)
	src.Follow = true
	fine, hanging := enginetest.NewMemorySink(), enginetest.NewMemorySink()
	hanging.Block() // Writes wait for ctx
	p := newPipeline(t, engine.Options{
		Outputs:      []engine.Output{output("fine", fine), output("hanging", hanging)},
		DrainTimeout: 20 * time.Millisecond,
	})
	stop := start(t, p, src)
	enginetest.Eventually(t, time.Minute, func() bool { return fine.Len() == 200 && hanging.Writes() > 0 },
		"outputs not written")
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	// Nothing was delivered to the hanging output: nothing may be acknowledged.
	if src.Acked("s0") != 0 || src.Acked("s1") != 0 || hanging.Len() != 0 {
		t.Fatalf("acknowledged %d, %d with a hanging output", src.Acked("s0"), src.Acked("s1"))
	}
	if fine.Closes() != 1 || hanging.Closes() != 1 {
		t.Fatalf("closes %d, %d", fine.Closes(), hanging.Closes())
	}
	if got := p.Stats().Acknowledged; got != 0 {
		t.Fatalf("acknowledged %d events", got)
	}
}

func TestHeldBatchReleasedAfterRunReturnedIsIgnored(t *testing.T) {
	src := enginetest.NewPullSource(testInput, enginetest.SuiteContent(1, 10))
	src.Follow = true
	sink := enginetest.NewMemorySink()
	sink.SetHold(true)
	p := newPipeline(t, engine.Options{Outputs: []engine.Output{output("a", sink)}, DrainTimeout: 10 * time.Millisecond})
	stop := start(t, p, src)
	enginetest.Eventually(t, time.Minute, func() bool { return sink.Held() > 0 }, "nothing held")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	sink.ReleaseHeld()
	if src.Acked("s0") != 0 || p.Stats().Acknowledged != 0 {
		t.Fatal("a release after Run returned acknowledged events")
	}
}

func TestCancelledRunDrainsQueuedEvents(t *testing.T) {
	content := enginetest.SuiteContent(3, 300)
	src := enginetest.NewPullSource(testInput, content)
	src.Follow = true
	sink := enginetest.NewMemorySink()
	sink.FailNext(3, nil)
	p := newPipeline(t, engine.Options{Outputs: []engine.Output{output("a", sink)}, DrainTimeout: time.Minute})
	stop := start(t, p, src)
	enginetest.Eventually(t, time.Minute, func() bool { return p.Stats().EventsIn > 100 }, "nothing published")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	if st.QueueEvents != 0 || st.Acknowledged != st.EventsIn {
		t.Fatalf("after a drain: %+v", st)
	}
	for name := range content {
		got := src.Acked(name)
		if got > 0 && sink.AttemptsOf(content[name][got-1]) == 0 {
			t.Fatalf("stream %s acknowledged past what was delivered", name)
		}
	}
}

func TestPublishAfterStopFails(t *testing.T) {
	var pub engine.Publisher
	p := newPipeline(t, engine.Options{Outputs: []engine.Output{output("a", enginetest.NewMemorySink())}})
	runToEnd(t, p, sourceFunc(func(_ context.Context, pp engine.Publisher) error { pub = pp; return nil }))
	st := engine.NewStream(testInput, func(int64) {})
	err := pub.Publish(t.Context(), []engine.Event{{Message: []byte("late"), Stream: st, Pos: 1}})
	if !errors.Is(err, engine.ErrStopped) {
		t.Fatalf("Publish after Run returned %v", err)
	}
}

func TestAbortEndsTheDrainAtOnce(t *testing.T) {
	content := enginetest.SuiteContent(1, 100)
	src := enginetest.NewPullSource(testInput, content)
	src.Follow = true
	sink := enginetest.NewMemorySink()
	sink.Block() // Writes wait for ctx: only the end of the drain frees them
	p := newPipeline(t, engine.Options{Outputs: []engine.Output{output("a", sink)}, DrainTimeout: time.Hour})
	stop := start(t, p, src)
	enginetest.Eventually(t, time.Minute, func() bool { return sink.Writes() > 0 }, "output not written")
	p.Abort()
	p.Abort() // twice is fine
	done := make(chan error, 1)
	go func() { done <- stop() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run still drains after Abort (drain timeout one hour)")
	}
	if src.Acked("s0") != 0 || p.Stats().Acknowledged != 0 || sink.Closes() != 1 {
		t.Fatalf("after Abort: acknowledged %d, closes %d", src.Acked("s0"), sink.Closes())
	}
}

// holdingSink holds every batch until Flush, like an S3 object waiting for its size or age cut.
type holdingSink struct {
	mu      sync.Mutex
	held    []func()
	flushes int
}

func (s *holdingSink) Write(_ context.Context, b *engine.Batch) error {
	for i := range b.Events {
		b.Accept(i)
	}
	release := b.Hold()
	s.mu.Lock()
	s.held = append(s.held, release)
	s.mu.Unlock()
	return nil
}

func (s *holdingSink) Flush(context.Context) error {
	s.mu.Lock()
	held := s.held
	s.held = nil
	s.flushes++
	s.mu.Unlock()
	for _, release := range held {
		release()
	}
	return nil
}

func (s *holdingSink) Close(context.Context) error { return nil }

// TestDrainFlushesAHoldingSink: when the sources are done, the engine flushes a Flusher sink instead of waiting
// for its own cut (here: never), so the run ends with everything acknowledged.
func TestDrainFlushesAHoldingSink(t *testing.T) {
	content := enginetest.SuiteContent(2, 300)
	src := enginetest.NewPullSource(testInput, content)
	sink := &holdingSink{}
	p := newPipeline(t, engine.Options{Outputs: []engine.Output{output("held", sink)}, DrainTimeout: time.Hour})
	done := make(chan struct{})
	go func() {
		defer close(done)
		runToEnd(t, p, src)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the run waits for held batches: the sink was not flushed while draining")
	}
	if src.Acked("s0") != 300 || src.Acked("s1") != 300 {
		t.Fatalf("acknowledged %d and %d of 300", src.Acked("s0"), src.Acked("s1"))
	}
	if sink.flushes == 0 {
		t.Fatal("no Flush call")
	}
}

// closeCtxSink records the context its Close was given.
type closeCtxSink struct {
	*enginetest.MemorySink
	err      error
	deadline time.Duration // how far ahead Close's deadline was
}

func (s *closeCtxSink) Close(ctx context.Context) error {
	s.err = ctx.Err()
	if d, ok := ctx.Deadline(); ok {
		s.deadline = time.Until(d)
	}
	return s.MemorySink.Close(ctx)
}

// TestOutputsCloseAfterASpentDrainBudget: when an output kept the drain waiting until its budget was spent, the
// other outputs still get a live context for Close, bounded by CloseTimeout (a file output that must stop its
// syncer would otherwise fail its Close, and the process exit 1, only because another output was down).
func TestOutputsCloseAfterASpentDrainBudget(t *testing.T) {
	src := enginetest.NewPullSource(testInput, enginetest.SuiteContent(1, 50))
	src.Follow = true
	fine := &closeCtxSink{MemorySink: enginetest.NewMemorySink()}
	hanging := enginetest.NewMemorySink()
	hanging.Block()
	p := newPipeline(t, engine.Options{
		Outputs:      []engine.Output{output("fine", fine), output("hanging", hanging)},
		DrainTimeout: 20 * time.Millisecond,
		CloseTimeout: 300 * time.Millisecond,
	})
	stop := start(t, p, src)
	enginetest.Eventually(t, time.Minute, func() bool { return fine.Len() == 50 && hanging.Writes() > 0 },
		"outputs not written")
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if fine.err != nil || fine.deadline <= 0 || fine.deadline > 300*time.Millisecond {
		t.Fatalf("Close got a context with error %v and %s left, want a live one of at most 300ms", fine.err,
			fine.deadline)
	}
}
