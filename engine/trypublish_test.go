package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
)

func request(st *engine.Stream, n int) []engine.Event {
	evs := make([]engine.Event, n)
	for i := range evs {
		evs[i] = engine.Event{Stream: st, Message: []byte("x"), Offset: -1, Pos: int64(i + 1)}
	}
	return evs
}

func TestTryPublishQueuesAllOrNothing(t *testing.T) {
	sink := enginetest.NewMemorySink()
	sink.Block()
	p := newPipeline(t, engine.Options{Queue: engine.QueueLimits{MaxEvents: 10}, Outputs: []engine.Output{output("o", sink)}})
	type result struct {
		ok  bool
		err error
	}
	results := make(chan []result, 1)
	proceed := make(chan struct{})
	src := sourceFunc(func(ctx context.Context, pub engine.Publisher) error {
		tp, ok := pub.(engine.TryPublisher)
		if !ok {
			return errors.New("the pipeline's publisher is not a TryPublisher")
		}
		var rs []result
		for _, n := range []int{6, 6} { // the second does not fit beside the first
			ok, err := tp.TryPublish(request(engine.NewStream(testInput, func(int64) {}), n))
			rs = append(rs, result{ok, err})
		}
		results <- rs
		<-proceed
		// Once the first request is done, a request larger than the whole queue is admitted into it alone.
		ok, err := tp.TryPublish(request(engine.NewStream(testInput, func(int64) {}), 15))
		results <- []result{{ok, err}}
		<-ctx.Done()
		return nil
	})
	stop := start(t, p, src)
	rs := <-results
	if !rs[0].ok || rs[0].err != nil || rs[1].ok || rs[1].err != nil {
		t.Fatalf("TryPublish of 6 then 6 events into a queue of 10 = %+v, want true then false", rs)
	}
	if q := p.Stats().QueueEvents; q != 6 {
		t.Fatalf("queue holds %d events after a refused TryPublish, want the 6 of the first request", q)
	}
	sink.Unblock()
	enginetest.Eventually(t, time.Minute, func() bool { return p.Stats().Acknowledged == 6 }, "first request not done")
	close(proceed)
	if rs := <-results; !rs[0].ok || rs[0].err != nil {
		t.Fatalf("TryPublish of 15 events into an empty queue of 10 = %+v, want true", rs)
	}
	enginetest.Eventually(t, time.Minute, func() bool { return p.Stats().Acknowledged == 21 }, "large request not done")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := sink.Len(); n != 21 {
		t.Fatalf("output got %d events, want 21 (nothing of the refused request)", n)
	}
}

// A push source's Run that, once stopped, waits for the completion of what it published (the HTTP receiver
// answering its requests in flight) must see it complete: the outputs keep running until every source returned.
func TestOutputsRunWhileAStoppedSourceWaitsForItsCallbacks(t *testing.T) {
	sink := enginetest.NewMemorySink()
	sink.Block()
	p := newPipeline(t, engine.Options{Outputs: []engine.Output{output("o", sink)}})
	published := make(chan struct{})
	completed := make(chan bool, 1)
	src := sourceFunc(func(ctx context.Context, pub engine.Publisher) error {
		done := make(chan struct{})
		st := engine.NewCallbackStream(testInput, 3, func() { close(done) })
		if err := pub.Publish(ctx, request(st, 3)); err != nil {
			return err
		}
		close(published)
		<-ctx.Done()
		select {
		case <-done:
			completed <- true
		case <-time.After(time.Minute):
			completed <- false
		}
		return nil
	})
	ctx, cancel := context.WithCancel(t.Context())
	ran := make(chan error, 1)
	go func() { ran <- p.Run(ctx, []engine.Source{src}) }()
	<-published
	cancel()
	// The source is stopped and waiting; the output is still blocked. Releasing it must complete the request.
	sink.Unblock()
	if !<-completed {
		t.Fatal("the request never completed while its source waited: the outputs stopped with the sources")
	}
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if n := sink.Len(); n != 3 {
		t.Fatalf("output got %d events, want 3", n)
	}
}

// A request's sender waits for its events: TryPublish hands them to the outputs at once instead of letting the
// batch wait for more events or its age.
func TestTryPublishCutsTheBatch(t *testing.T) {
	sink := enginetest.NewMemorySink()
	p := newPipeline(t, engine.Options{Batch: engine.BatchLimits{MaxWait: time.Hour}, Outputs: []engine.Output{output("o", sink)}})
	src := sourceFunc(func(ctx context.Context, pub engine.Publisher) error {
		if _, err := pub.(engine.TryPublisher).TryPublish(request(engine.NewStream(testInput, func(int64) {}), 3)); err != nil {
			return err
		}
		<-ctx.Done()
		return nil
	})
	stop := start(t, p, src)
	enginetest.Eventually(t, time.Minute, func() bool { return sink.Len() == 3 }, "the request's events waited for the batch's age")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
