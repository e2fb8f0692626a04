package engine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
)

// everyThird filters the messages of SuiteContent whose index is a multiple of 3.
func everyThird(m []byte) bool { return enginetest.MessageIndex(m)%3 == 0 }

// kept returns content without the messages filter reports true.
func kept(content map[string][][]byte, filter func([]byte) bool) map[string][][]byte {
	out := make(map[string][][]byte, len(content))
	for name, msgs := range content {
		for _, m := range msgs {
			if !filter(m) {
				out[name] = append(out[name], m)
			}
		}
	}
	return out
}

// A stream whose lines are all filtered out still advances its checkpoint to its end (DESIGN.md section 2,
// item 7), and no output is sent anything.
func TestFilteredStreamIsAcknowledgedToItsEnd(t *testing.T) {
	content := enginetest.SuiteContent(3, 100)
	src := enginetest.NewPullSource(testInput, content)
	src.Filter = func([]byte) bool { return true }
	a, b := enginetest.NewMemorySink(), enginetest.NewMemorySink()
	p := newPipeline(t, engine.Options{Outputs: []engine.Output{output("a", a), output("b", b)}})
	runToEnd(t, p, src)
	checkAcks(t, src)
	for name := range content {
		if got := src.Acked(name); got != 100 {
			t.Errorf("stream %s acknowledged up to %d, want 100", name, got)
		}
	}
	if a.Writes()+b.Writes() != 0 {
		t.Errorf("outputs were written %d and %d times, want never: every event is filtered", a.Writes(), b.Writes())
	}
	st := p.Stats()
	if st.Filtered != 300 || st.FilteredByInput[testInput.Name] != 300 {
		t.Errorf("filtered %d, by input %v, want 300 for input %q", st.Filtered, st.FilteredByInput, testInput.Name)
	}
	if st.Acknowledged != 300 || st.QueueEvents != 0 || st.QueueBytes != 0 {
		t.Errorf("acknowledged %d, queue %d events %d bytes, want 300 and an empty queue", st.Acknowledged,
			st.QueueEvents, st.QueueBytes)
	}
	for _, o := range st.Outputs {
		if o.Events != 0 || o.Batches != 0 {
			t.Errorf("output %s counts %d events in %d batches as shipped, want none", o.Name, o.Events, o.Batches)
		}
	}
}

// Filtered events mixed with others: every output gets exactly the others, each stream in order, also while
// one output retries and the pipeline keeps per-output positions; the checkpoint still reaches the end.
func TestFilteredEventsReachNoOutputAndKeepOrder(t *testing.T) {
	content := enginetest.SuiteContent(4, 200)
	src := enginetest.NewPullSource(testInput, content)
	src.Filter = everyThird
	a, b := enginetest.NewMemorySink(), enginetest.NewMemorySink()
	// b asks once to retry every seventh event: its retries arrive after later events, like a real sink's.
	retried := func(m []byte) bool { return enginetest.MessageIndex(m)%7 == 0 }
	b.RetryWhen(func(ev *engine.Event, attempt int) bool { return attempt == 0 && retried(ev.Message) })
	p := newPipeline(t, engine.Options{Outputs: []engine.Output{output("a", a), output("b", b)},
		OutputPositions: enginetest.NewMemoryPositions()})
	runToEnd(t, p, src)
	checkAcks(t, src)
	want := kept(content, everyThird)
	enginetest.CheckOnceInOrder(t, want, a.Messages(), func([]byte) bool { return false })
	enginetest.CheckOnceInOrder(t, want, b.Messages(), retried)
	for name := range content {
		if got := src.Acked(name); got != 200 {
			t.Errorf("stream %s acknowledged up to %d, want 200", name, got)
		}
	}
	st := p.Stats()
	if st.Filtered != 4*67 { // indexes 0, 3, ..., 198 of each stream
		t.Errorf("filtered %d, want %d", st.Filtered, 4*67)
	}
	if o, _ := st.Output("a"); o.Events != 4*133 {
		t.Errorf("output a counts %d events shipped, want %d (the filtered ones not counted)", o.Events, 4*133)
	}
	if st.Acknowledged != st.EventsIn || st.QueueEvents != 0 {
		t.Errorf("acknowledged %d of %d, queue %d: want every event done", st.Acknowledged, st.EventsIn, st.QueueEvents)
	}
}

// A filtered event behind an event an output has not finished waits for it: the checkpoint never passes the
// unfinished event, and the filtered events keep their room in the queue until it is done, so a stalled
// output still bounds what a stream of filtered lines costs.
func TestFilteredEventsWaitForTheEventBeforeThem(t *testing.T) {
	sink := enginetest.NewMemorySink()
	sink.Block()
	p := newPipeline(t, engine.Options{Queue: engine.QueueLimits{MaxEvents: 8}, Outputs: []engine.Output{output("o", sink)}})
	var acked []int64
	ackCh := make(chan int64, 16)
	st := engine.NewStream(testInput, func(pos int64) { ackCh <- pos })
	published := make(chan error, 2)
	src := sourceFunc(func(ctx context.Context, pub engine.Publisher) error {
		evs := []engine.Event{{Stream: st, Message: []byte("kept"), Pos: 1}}
		for i := range 7 {
			evs = append(evs, engine.Event{Stream: st, Pos: int64(i + 2), Filtered: true})
		}
		published <- pub.Publish(ctx, evs)
		// The queue holds 8 events: one more waits until the output finishes the first.
		published <- pub.Publish(ctx, []engine.Event{{Stream: st, Pos: 9, Filtered: true}})
		<-ctx.Done()
		return nil
	})
	stop := start(t, p, src)
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	if q := p.Stats().QueueEvents; q != 8 {
		t.Fatalf("queue holds %d events behind a blocked output, want 8 (the filtered ones too)", q)
	}
	select {
	case pos := <-ackCh:
		t.Fatalf("acknowledged %d while the output had not finished the first event", pos)
	case err := <-published:
		t.Fatalf("a ninth event was published into a full queue (err %v)", err)
	default:
	}
	sink.Unblock()
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	for len(acked) == 0 || acked[len(acked)-1] < 9 {
		select {
		case pos := <-ackCh:
			acked = append(acked, pos)
		case <-time.After(time.Minute):
			t.Fatalf("acknowledged %v after a minute, want up to 9", acked)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if acked[0] != 8 {
		t.Errorf("first acknowledgement %d, want 8: the first event and the filtered ones after it", acked[0])
	}
	if n := sink.Len(); n != 1 {
		t.Errorf("output got %d events, want the 1 not filtered", n)
	}
	if st := p.Stats(); st.QueueEvents != 0 || st.Acknowledged != 9 {
		t.Errorf("queue %d, acknowledged %d: want empty and 9", st.QueueEvents, st.Acknowledged)
	}
}

// A push source's request whose events are all filtered is answered as done, through Publish and TryPublishWait;
// Stream.Dropped is not told of them.
func TestFilteredRequestCompletesItsCallback(t *testing.T) {
	t.Run("publish", func(t *testing.T) {
		sink := enginetest.NewMemorySink()
		p := newPipeline(t, engine.Options{Outputs: []engine.Output{output("o", sink)}})
		src := enginetest.NewCallbackSource(testInput, [][][]byte{
			{[]byte("drop a"), []byte("drop b")},
			{[]byte("drop c"), []byte("keep d"), []byte("drop e")},
		})
		src.Filter = func(m []byte) bool { return bytes.HasPrefix(m, []byte("drop")) }
		src.Follow = true
		stop := start(t, p, src)
		for i := range 2 {
			select {
			case <-src.Done(i):
			case <-time.After(time.Minute):
				t.Fatalf("request %d not completed after a minute", i)
			}
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if got := sink.Messages(); len(got) != 1 || string(got[0]) != "keep d" {
			t.Errorf("output got %q, want only the event not filtered", got)
		}
		if src.DoneCount(0) != 1 || src.DoneCount(1) != 1 {
			t.Errorf("completions fired %d and %d times, want once each", src.DoneCount(0), src.DoneCount(1))
		}
	})
	t.Run("try publish wait", func(t *testing.T) {
		sink := enginetest.NewMemorySink()
		p := newPipeline(t, engine.Options{Outputs: []engine.Output{output("o", sink)}})
		done := make(chan struct{})
		result := make(chan error, 1)
		src := sourceFunc(func(ctx context.Context, pub engine.Publisher) error {
			tp, ok := pub.(engine.TryPublisher)
			if !ok {
				return errors.New("the pipeline's publisher is not a TryPublisher")
			}
			st := engine.NewCallbackStream(testInput, 3, func() { close(done) })
			st.Dropped = func(pos int64, reason error) { t.Errorf("Dropped told of filtered event %d: %v", pos, reason) }
			evs := request(st, 3)
			for i := range evs {
				evs[i].Filtered, evs[i].Message = true, nil
			}
			ok, err := tp.TryPublishWait(ctx, evs, time.Second)
			if err == nil && !ok {
				err = errors.New("refused with room in the queue")
			}
			result <- err
			<-ctx.Done()
			return nil
		})
		stop := start(t, p, src)
		if err := <-result; err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatal("the request of filtered events was not completed after a minute")
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if sink.Writes() != 0 {
			t.Errorf("output written %d times, want never", sink.Writes())
		}
	})
}

// A ByID stream (an API source's) with filtered events and per-output ids, one output down: the ids saved for
// the output that is ahead are those of the events it accepted, never a filtered event's (every output is done
// with those, and none accepted them). After a restart the output that was down gets exactly the events not
// filtered, the other nothing again.
func TestFilteredEventsOfAByIDStream(t *testing.T) {
	content := enginetest.SuiteContent(2, 60)
	want := kept(content, everyThird)
	positions := enginetest.NewMemoryPositions()
	src := enginetest.NewPullSource(testInput, content)
	src.ByID, src.Filter, src.Follow = true, everyThird, true
	idsOf := func(name string) []string {
		var ids []string
		for i, m := range content[name] {
			if !everyThird(m) {
				ids = append(ids, string(enginetest.IDOf(name, i)))
			}
		}
		slices.Sort(ids)
		return ids
	}
	a, b := enginetest.NewMemorySink(), enginetest.NewMemorySink()
	b.Block()
	p := newPipeline(t, engine.Options{Outputs: []engine.Output{output("a", a), output("b", b)},
		OutputIDs: positions, OutputIDsInterval: time.Millisecond, DrainTimeout: 20 * time.Millisecond})
	stop := start(t, p, src)
	enginetest.Eventually(t, time.Minute, func() bool {
		return len(positions.IDs(testInput.Name, "s0")["a"]) >= 40 && len(positions.IDs(testInput.Name, "s1")["a"]) >= 40
	}, "the ids output a accepted were not saved")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for name := range content {
		got := positions.IDs(testInput.Name, name)
		if !slices.Equal(got["a"], idsOf(name)) || len(got) != 1 {
			t.Fatalf("stream %s: saved ids %v, want for output a only the %d events not filtered", name, got,
				len(idsOf(name)))
		}
	}

	a, b = enginetest.NewMemorySink(), enginetest.NewMemorySink()
	src = src.Resume()
	src.Follow = false
	p = newPipeline(t, engine.Options{Outputs: []engine.Output{output("a", a), output("b", b)}, OutputIDs: positions})
	runToEnd(t, p, src)
	checkAcks(t, src)
	if n := a.Len(); n != 0 {
		t.Errorf("output a got %d events again after the restart, want none", n)
	}
	enginetest.CheckOnceInOrder(t, want, b.Messages(), func([]byte) bool { return false })
	for name := range content {
		if got := src.Acked(name); got != 60 {
			t.Errorf("stream %s acknowledged up to %d, want 60", name, got)
		}
	}
	if errs := positions.Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}
}

// More than 64 outputs (the engine warns but runs, without per-output tracking): a filtered event must not
// overflow the outputs' bitmask; the stream is acknowledged to its end and every output gets the kept events.
func TestFilteredEventsWithMoreThan64Outputs(t *testing.T) {
	var outs []engine.Output
	var sinks []*enginetest.MemorySink
	for i := range 65 {
		s := enginetest.NewMemorySink()
		sinks = append(sinks, s)
		outs = append(outs, output(fmt.Sprintf("o%d", i), s))
	}
	content := enginetest.SuiteContent(1, 10)
	src := enginetest.NewPullSource(testInput, content)
	src.Filter = everyThird
	p := newPipeline(t, engine.Options{Outputs: outs})
	runToEnd(t, p, src)
	checkAcks(t, src)
	for name := range content {
		if got := src.Acked(name); got != 10 {
			t.Errorf("stream %s acknowledged up to %d, want 10", name, got)
		}
	}
	want := kept(content, everyThird)
	for _, s := range sinks {
		enginetest.CheckOnceInOrder(t, want, s.Messages(), func([]byte) bool { return false })
	}
}
