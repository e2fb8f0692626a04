package engine_test

import (
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
)

func rejectEveryTenth(ev *engine.Event) bool { return ev.Offset%10 == 4 }

func TestRejectedEventsGoToTheDeadLetterSink(t *testing.T) {
	content := enginetest.SuiteContent(2, 100)
	src := enginetest.NewPullSource(testInput, content)
	out, dl := enginetest.NewMemorySink(), enginetest.NewMemorySink()
	out.RejectWhen(rejectEveryTenth)
	dl.Block()          // a dead letter not written yet keeps the checkpoint back
	dl.FailNext(2, nil) // and a failed dead-letter write is retried, not done
	p := newPipeline(t, engine.Options{Outputs: []engine.Output{{Name: "a", Sink: out, DeadLetter: dl}}})
	stop := start(t, p, src)

	enginetest.Eventually(t, time.Minute, func() bool { return out.Len() == 180 }, "output incomplete")
	enginetest.Eventually(t, time.Minute, func() bool { return dl.Writes() > 0 }, "dead letter not written")
	if a0, a1 := src.Acked("s0"), src.Acked("s1"); a0 > 4 || a1 > 4 {
		t.Fatalf("acknowledged to %d, %d past a rejected event not in the dead letter", a0, a1)
	}
	dl.Unblock()
	enginetest.Eventually(t, time.Minute, func() bool { return src.Acked("s0") == 100 && src.Acked("s1") == 100 },
		"not everything acknowledged")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	checkAcks(t, src)

	recs := dl.Records()
	if len(recs) != 20 {
		t.Fatalf("dead letter holds %d events, want 20", len(recs))
	}
	for _, r := range recs {
		if r.Offset%10 != 4 || r.Reason != "output a: memory sink: rejected" {
			t.Fatalf("dead letter record %+v", r)
		}
	}
	st := p.Stats()
	a, _ := st.Output("a")
	d, _ := st.Output("a.dead_letter")
	if a.Rejected != 20 || a.DeadLettered != 20 || a.Dropped != 0 || d.DeadLetterOf != "a" || d.DeadLetterIn != 20 ||
		d.WriteErrors != 2 {
		t.Fatalf("stats a %+v, dead letter %+v", a, d)
	}
	if dl.Closes() != 1 {
		t.Fatalf("dead letter closed %d times", dl.Closes())
	}
}

func TestRejectedEventsGoToTheDeadLetterOutput(t *testing.T) {
	content := enginetest.SuiteContent(3, 60)
	src := enginetest.NewPullSource(testInput, content)
	a, b := enginetest.NewMemorySink(), enginetest.NewMemorySink()
	a.RejectWhen(rejectEveryTenth)
	// b retries each dead letter once: the retry keeps the dead letter's reason.
	b.RetryWhen(func(ev *engine.Event, attempt int) bool { return ev.Offset%10 == 4 && attempt == 1 })
	p := newPipeline(t, engine.Options{Outputs: []engine.Output{
		{Name: "a", Sink: a, DeadLetterOutput: "b"},
		{Name: "b", Sink: b},
	}})
	runToEnd(t, p, src)
	checkAcks(t, src)

	var own, dead []enginetest.Record
	for _, r := range b.Records() {
		if r.Reason == "" {
			own = append(own, r)
		} else {
			dead = append(dead, r)
		}
	}
	if len(own) != 180 || len(dead) != 18 {
		t.Fatalf("b accepted %d own events and %d dead letters, want 180 and 18", len(own), len(dead))
	}
	for _, r := range dead {
		if !strings.HasPrefix(r.Reason, "output a: ") || r.Offset%10 != 4 {
			t.Fatalf("dead letter %+v", r)
		}
	}
	for name := range content {
		if src.Acked(name) != 60 {
			t.Fatalf("stream %s acknowledged to %d", name, src.Acked(name))
		}
	}
	if sa, _ := p.Stats().Output("a"); sa.DeadLettered != 18 {
		t.Fatalf("stats %+v", sa)
	}
}

func TestRejectedEventsWithoutDeadLetterAreDroppedAndDone(t *testing.T) {
	content := enginetest.SuiteContent(1, 50)
	src := enginetest.NewPullSource(testInput, content)
	a := enginetest.NewMemorySink()
	a.RejectWhen(rejectEveryTenth)
	p := newPipeline(t, engine.Options{Outputs: []engine.Output{output("a", a)}})
	runToEnd(t, p, src)
	if src.Acked("s0") != 50 {
		t.Fatalf("acknowledged to %d", src.Acked("s0"))
	}
	if st, _ := p.Stats().Output("a"); st.Rejected != 5 || st.Dropped != 5 || st.Events != 45 {
		t.Fatalf("stats %+v", st)
	}
}
