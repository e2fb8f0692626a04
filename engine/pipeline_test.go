package engine_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
)

func TestNewValidatesOptions(t *testing.T) {
	sink := enginetest.NewMemorySink()
	tests := []struct {
		name string
		opts engine.Options
		want string // in the error; empty: valid
	}{
		{"valid", engine.Options{Outputs: []engine.Output{output("a", sink)}}, ""},
		{"no outputs", engine.Options{}, "no outputs"},
		{"empty name", engine.Options{Outputs: []engine.Output{output("", sink)}}, "empty name"},
		{"no sink", engine.Options{Outputs: []engine.Output{{Name: "a"}}}, "no sink"},
		{"duplicate", engine.Options{Outputs: []engine.Output{output("a", sink), output("a", sink)}}, "duplicate"},
		{"negative queue", engine.Options{Queue: engine.QueueLimits{MaxBytes: -1},
			Outputs: []engine.Output{output("a", sink)}}, "queue max bytes"},
		{"missing dead letter output", engine.Options{Outputs: []engine.Output{
			{Name: "a", Sink: sink, DeadLetterOutput: "b"}}}, "does not exist"},
		{"both dead letters", engine.Options{Outputs: []engine.Output{
			{Name: "a", Sink: sink, DeadLetter: sink, DeadLetterOutput: "b"}, output("b", sink)}}, "exclusive"},
		{"self cycle", engine.Options{Outputs: []engine.Output{
			{Name: "a", Sink: sink, DeadLetterOutput: "a"}}}, "cycle"},
		{"cycle", engine.Options{Outputs: []engine.Output{
			{Name: "a", Sink: sink, DeadLetterOutput: "b"},
			{Name: "b", Sink: sink, DeadLetterOutput: "c"},
			{Name: "c", Sink: sink, DeadLetterOutput: "b"}}}, "cycle"},
		{"chain", engine.Options{Outputs: []engine.Output{
			{Name: "a", Sink: sink, DeadLetterOutput: "b"},
			{Name: "b", Sink: sink, DeadLetterOutput: "c"},
			{Name: "c", Sink: sink, DeadLetter: sink}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := engine.New(tt.opts)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestRunDeliversToEveryOutputAndAcknowledgesEverything(t *testing.T) {
	content := enginetest.SuiteContent(4, 500)
	src := enginetest.NewPullSource(testInput, content)
	a, b := enginetest.NewMemorySink(), enginetest.NewMemorySink()
	p := newPipeline(t, engine.Options{Outputs: []engine.Output{output("a", a), output("b", b)}})
	runToEnd(t, p, src)

	enginetest.CheckStreams(t, content, a.Messages(), false)
	enginetest.CheckStreams(t, content, b.Messages(), false)
	for name, msgs := range content {
		if got := src.Acked(name); got != int64(len(msgs)) {
			t.Errorf("stream %s acknowledged to %d, want %d", name, got, len(msgs))
		}
	}
	checkAcks(t, src)
	st := p.Stats()
	if st.EventsIn != 2000 || st.Acknowledged != 2000 || st.QueueEvents != 0 || st.QueueBytes != 0 {
		t.Fatalf("stats %+v", st)
	}
	if oa, _ := st.Output("a"); oa.Events != 2000 || oa.Batches == 0 {
		t.Fatalf("output stats %+v", oa)
	}
	if a.Closes() != 1 || b.Closes() != 1 || a.Overlaps() != 0 {
		t.Fatalf("closes %d %d, overlapping writes %d", a.Closes(), b.Closes(), a.Overlaps())
	}
}

func TestRetriedEventsGoOnlyToTheOutputThatAskedAndAcksWait(t *testing.T) {
	content := enginetest.SuiteContent(2, 200)
	src := enginetest.NewPullSource(testInput, content)
	retrying, steady := enginetest.NewMemorySink(), enginetest.NewMemorySink()
	var release sync.Once
	gate := make(chan struct{})
	// Event 50 of s0 is retried until the gate opens.
	retrying.RetryWhen(func(ev *engine.Event, _ int) bool {
		if ev.Stream.Path != "s0" || ev.Offset != 50 {
			return false
		}
		select {
		case <-gate:
			return false
		default:
			return true
		}
	})
	p := newPipeline(t, engine.Options{Outputs: []engine.Output{output("r", retrying), output("s", steady)}})
	stop := start(t, p, src)
	enginetest.Eventually(t, time.Minute, func() bool { return retrying.AttemptsOf(content["s0"][50]) >= 3 },
		"event 50 not retried")
	if got := src.Acked("s0"); got > 50 {
		t.Fatalf("s0 acknowledged to %d past an event an output retries", got)
	}
	release.Do(func() { close(gate) })
	enginetest.Eventually(t, time.Minute, func() bool { return src.Acked("s0") == 200 && src.Acked("s1") == 200 },
		"not everything acknowledged")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := steady.AttemptsOf(content["s0"][50]); n != 1 {
		t.Fatalf("the steady output got the retried event %d times", n)
	}
	enginetest.CheckStreams(t, content, steady.Messages(), false)
	checkAcks(t, src)
	if r, _ := p.Stats().Output("r"); r.Retried < 3 {
		t.Fatalf("retried %d", r.Retried)
	}
}

// markThenFail accepts the first half of every batch, leaves the rest unmarked and returns an error once.
type markThenFail struct {
	*enginetest.MemorySink
	mu     sync.Mutex
	failed bool
}

func (s *markThenFail) Write(ctx context.Context, b *engine.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed {
		return s.MemorySink.Write(ctx, b)
	}
	s.failed = true
	half := engine.NewBatch(b.Events[:b.Len()/2])
	if err := s.MemorySink.Write(ctx, half); err != nil {
		return err
	}
	for i := range half.Len() {
		b.Accept(i)
	}
	return errors.New("connection reset")
}

func TestWriteErrorRetriesOnlyUnmarkedEvents(t *testing.T) {
	content := enginetest.SuiteContent(1, 16)
	src := enginetest.NewPullSource(testInput, content)
	sink := &markThenFail{MemorySink: enginetest.NewMemorySink()}
	p := newPipeline(t, engine.Options{Outputs: []engine.Output{output("a", sink)}})
	runToEnd(t, p, src)
	enginetest.CheckStreams(t, content, sink.Messages(), false)
	if st, _ := p.Stats().Output("a"); st.WriteErrors != 1 || st.Retried != 8 {
		t.Fatalf("stats %+v", st)
	}
}

func TestHeldBatchesStayInFlightUntilReleased(t *testing.T) {
	content := enginetest.SuiteContent(2, 100)
	src := enginetest.NewPullSource(testInput, content)
	sink := enginetest.NewMemorySink()
	sink.SetHold(true)
	sink.RetryWhen(func(ev *engine.Event, attempt int) bool { return ev.Offset%9 == 0 && attempt == 0 })
	p := newPipeline(t, engine.Options{Outputs: []engine.Output{output("a", sink)}})
	stop := start(t, p, src)
	enginetest.Eventually(t, time.Minute, func() bool { return sink.Held() >= 3 }, "the worker did not move on")
	if src.Acked("s0") != 0 || src.Acked("s1") != 0 {
		t.Fatal("acknowledged before the sink released anything")
	}
	enginetest.Eventually(t, time.Minute, func() bool {
		sink.ReleaseHeld()
		return src.Acked("s0") == 100 && src.Acked("s1") == 100
	}, "not everything acknowledged after releasing")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	enginetest.CheckOnceInOrder(t, content, sink.Messages(), func(m []byte) bool { return enginetest.MessageIndex(m)%9 == 0 })
	checkAcks(t, src)
}

func TestCallbackDoneFiresOnceAfterEveryOutput(t *testing.T) {
	requests := make([][][]byte, 20)
	for i := range requests {
		for k := range i + 1 {
			requests[i] = append(requests[i], []byte(strings.Repeat("x", k)+string(rune('a'+i))))
		}
	}
	src := enginetest.NewCallbackSource(testInput, requests)
	src.Follow = true
	holding, retrying := enginetest.NewMemorySink(), enginetest.NewMemorySink()
	holding.SetHold(true)
	retrying.RetryWhen(func(_ *engine.Event, attempt int) bool { return attempt == 0 })
	var mu sync.Mutex
	var early []int
	src.OnDone = func(i int) {
		// Every event of request i must be in both outputs when its completion fires.
		want := len(requests[i])
		for _, s := range []*enginetest.MemorySink{holding, retrying} {
			n := 0
			for _, r := range s.Records() {
				if len(r.Message) > 0 && r.Message[len(r.Message)-1] == byte('a'+i) {
					n++
				}
			}
			if n != want {
				mu.Lock()
				early = append(early, i)
				mu.Unlock()
			}
		}
	}
	p := newPipeline(t, engine.Options{Outputs: []engine.Output{output("h", holding), output("r", retrying)}})
	stop := start(t, p, src)
	enginetest.Eventually(t, time.Minute, func() bool { return retrying.Len() == 210 }, "retrying output incomplete")
	for i := range requests {
		if src.DoneCount(i) != 0 {
			t.Fatalf("request %d completed while an output held its events", i)
		}
	}
	enginetest.Eventually(t, time.Minute, func() bool {
		holding.ReleaseHeld()
		return p.Stats().Acknowledged == 210
	}, "not everything done")
	for i := range requests {
		select {
		case <-src.Done(i):
		case <-time.After(time.Minute):
			t.Fatalf("request %d never completed", i)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for i := range requests {
		if n := src.DoneCount(i); n != 1 {
			t.Errorf("request %d completed %d times", i, n)
		}
	}
	if len(early) > 0 {
		t.Fatalf("requests completed before every output had their events: %v", early)
	}
}

func TestSourceErrorStopsThePipeline(t *testing.T) {
	boom := errors.New("boom")
	follower := enginetest.NewPullSource(testInput, enginetest.SuiteContent(1, 10))
	follower.Follow = true
	sink := enginetest.NewMemorySink()
	p := newPipeline(t, engine.Options{Outputs: []engine.Output{output("a", sink)}})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	err := p.Run(ctx, []engine.Source{follower, failingSource{boom}})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "source") {
		t.Fatalf("Run returned %v, want the source's error wrapped", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Run returned only because its context ended")
	}
	if sink.Closes() != 1 {
		t.Fatalf("sink closed %d times", sink.Closes())
	}
	if err := p.Run(ctx, nil); !errors.Is(err, engine.ErrReused) {
		t.Fatalf("second Run returned %v", err)
	}
}

type failingSource struct{ err error }

func (s failingSource) Run(context.Context, engine.Publisher) error { return s.err }

func TestCloseErrorIsReturned(t *testing.T) {
	sink := enginetest.NewMemorySink()
	sink.SetCloseError(errors.New("flush: disk full"))
	p := newPipeline(t, engine.Options{Outputs: []engine.Output{output("a", sink)}})
	err := p.Run(t.Context(), nil)
	if err == nil || !strings.Contains(err.Error(), "close output a: flush: disk full") {
		t.Fatalf("Run returned %v", err)
	}
}

func TestEventsWithoutStreamAreCountedAndDropped(t *testing.T) {
	sink := enginetest.NewMemorySink()
	p := newPipeline(t, engine.Options{Outputs: []engine.Output{output("a", sink)}})
	runToEnd(t, p, sourceFunc(func(ctx context.Context, pub engine.Publisher) error {
		st := engine.NewStream(testInput, func(int64) {})
		return pub.Publish(ctx, []engine.Event{{Message: []byte("ok"), Stream: st, Pos: 1}, {Message: []byte("no stream")}})
	}))
	if st := p.Stats(); st.Invalid != 1 || st.EventsIn != 1 || sink.Len() != 1 || st.QueueBytes != 0 {
		t.Fatalf("stats %+v, delivered %d", st, sink.Len())
	}
}

type sourceFunc func(ctx context.Context, pub engine.Publisher) error

func (f sourceFunc) Run(ctx context.Context, pub engine.Publisher) error { return f(ctx, pub) }
