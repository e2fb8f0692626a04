package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
)

// TestConcurrentStreamsWithMixedOutcomes runs pull and push streams at once through outputs that hold, retry,
// reject into a chain of dead letters and fail writes; every stream must end fully acknowledged, in order, and
// every request complete once.
func TestConcurrentStreamsWithMixedOutcomes(t *testing.T) {
	content := enginetest.SuiteContent(8, 400)
	pull := enginetest.NewPullSource(testInput, content)
	requests := make([][][]byte, 100)
	for i := range requests {
		for k := range i%7 + 1 {
			requests[i] = append(requests[i], fmt.Appendf(nil, "req %d %d", i, k))
		}
	}
	push := enginetest.NewCallbackSource(testInput, requests)

	holding, retrying, dlOut, dlSink := enginetest.NewMemorySink(), enginetest.NewMemorySink(),
		enginetest.NewMemorySink(), enginetest.NewMemorySink()
	holding.SetHold(true)
	retrying.RetryWhen(func(ev *engine.Event, attempt int) bool { return ev.Pos%13 == 0 && attempt < 2 })
	retrying.RejectWhen(func(ev *engine.Event) bool { return ev.Pos%10 == 5 })
	retrying.FailNext(3, nil)
	dlOut.RejectWhen(func(ev *engine.Event) bool { return ev.Pos%20 == 15 })
	dlSink.FailNext(1, nil)

	p := newPipeline(t, engine.Options{
		Queue: engine.QueueLimits{MaxEvents: 500},
		Outputs: []engine.Output{
			{Name: "holding", Sink: holding},
			{Name: "retrying", Sink: retrying, DeadLetterOutput: "dl"},
			{Name: "dl", Sink: dlOut, DeadLetter: dlSink},
		},
	})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	releaser := make(chan struct{})
	go func() { // the holding sink acknowledges from its own goroutine, like a group fsync
		defer close(releaser)
		for ctx.Err() == nil {
			holding.ReleaseHeld()
			time.Sleep(100 * time.Microsecond)
		}
	}()
	err := p.Run(ctx, []engine.Source{pull, push})
	drained := ctx.Err() == nil
	cancel()
	<-releaser
	if err != nil || !drained {
		t.Fatalf("run: %v, drained %v", err, drained)
	}

	checkAcks(t, pull)
	for name, msgs := range content {
		if got := pull.Acked(name); got != int64(len(msgs)) {
			t.Errorf("stream %s acknowledged to %d of %d", name, got, len(msgs))
		}
	}
	for i := range requests {
		if n := push.DoneCount(i); n != 1 {
			t.Errorf("request %d completed %d times", i, n)
		}
	}
	enginetest.CheckStreams(t, content, pullOnly(holding.Messages()), false)
	// The dead-letter output's own events, without those it rejected itself.
	var own [][]byte
	for _, r := range dlOut.Records() {
		if r.Reason == "" {
			own = append(own, r.Message)
		}
	}
	wantOwn := make(map[string][][]byte)
	for name, msgs := range content {
		for i, m := range msgs {
			if (i+1)%20 != 15 {
				wantOwn[name] = append(wantOwn[name], m)
			}
		}
	}
	enginetest.CheckStreams(t, wantOwn, pullOnly(own), false)
	st := p.Stats()
	if st.QueueEvents != 0 || st.Acknowledged != st.EventsIn {
		t.Fatalf("stats %+v", st)
	}
	r, _ := st.Output("retrying")
	d, _ := st.Output("dl")
	// Every rejection of "retrying" reached a dead letter (dl or, rejected there too, dl's sink); dl's sink got
	// every rejection of dl, its own events' and the dead letters'.
	if r.Rejected == 0 || r.DeadLettered != r.Rejected || d.Rejected == 0 || uint64(len(dlSink.Records())) != d.Rejected {
		t.Fatalf("retrying %+v, dl %+v, dl sink %d", r, d, len(dlSink.Records()))
	}
	for _, rec := range dlSink.Records() {
		if rec.Pos%20 != 15 || rec.Reason == "" {
			t.Fatalf("dead letter %+v", rec)
		}
	}
}

// pullOnly leaves out the push requests' messages.
func pullOnly(msgs [][]byte) [][]byte {
	var out [][]byte
	for _, m := range msgs {
		if len(m) < 4 || string(m[:4]) != "req " {
			out = append(out, m)
		}
	}
	return out
}
