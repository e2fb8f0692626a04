package engine_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
)

// TryPublishWait refuses at once what can never fit, instead of admitting it into an empty queue.
func TestTryPublishWaitRefusesMoreThanTheQueueBounds(t *testing.T) {
	p := newPipeline(t, engine.Options{Queue: engine.QueueLimits{MaxEvents: 10}, Outputs: []engine.Output{output("o", enginetest.NewMemorySink())}})
	got := make(chan error, 1)
	src := sourceFunc(func(ctx context.Context, pub engine.Publisher) error {
		ok, err := pub.(engine.TryPublisher).TryPublishWait(ctx, request(engine.NewStream(testInput, func(int64) {}), 11), time.Minute)
		if ok {
			err = errors.New("admitted")
		}
		got <- err
		<-ctx.Done()
		return nil
	})
	stop := start(t, p, src)
	if err := <-got; !errors.Is(err, engine.ErrExceedsQueue) {
		t.Fatalf("TryPublishWait of 11 events into a queue of 10 = %v, want ErrExceedsQueue", err)
	}
	if q := p.Stats().QueueEvents; q != 0 {
		t.Fatalf("queue holds %d events, want none", q)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// A refused TryPublishWait leaves the line: whoever waited behind it gets the room.
func TestTryPublishWaitTimesOutAndLeavesTheLine(t *testing.T) {
	sink := enginetest.NewMemorySink()
	sink.Block()
	p := newPipeline(t, engine.Options{Queue: engine.QueueLimits{MaxEvents: 10}, Outputs: []engine.Output{output("o", sink)}})
	got := make(chan []bool, 1)
	src := sourceFunc(func(ctx context.Context, pub engine.Publisher) error {
		tp := pub.(engine.TryPublisher)
		a, _ := tp.TryPublishWait(ctx, request(engine.NewStream(testInput, func(int64) {}), 8), 0)
		b, _ := tp.TryPublishWait(ctx, request(engine.NewStream(testInput, func(int64) {}), 8), 10*time.Millisecond)
		c, _ := tp.TryPublishWait(ctx, request(engine.NewStream(testInput, func(int64) {}), 2), 0)
		got <- []bool{a, b, c}
		<-ctx.Done()
		return nil
	})
	stop := start(t, p, src)
	if r := <-got; !slices.Equal(r, []bool{true, false, true}) {
		t.Fatalf("8 (fits), 8 (waits, times out), 2 (fits) = %v, want [true false true]", r)
	}
	sink.Unblock()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// Dropped tells a stream of each event an output rejected without a dead letter, before the stream's ack.
func TestDroppedReportsRejectedEventsWithoutDeadLetter(t *testing.T) {
	a := enginetest.NewMemorySink()
	a.RejectWhen(func(ev *engine.Event) bool { return ev.Pos == 2 })
	p := newPipeline(t, engine.Options{Outputs: []engine.Output{output("a", a)}})
	var mu sync.Mutex
	var dropped []int64
	var reason error
	done := make(chan []int64, 1)
	src := sourceFunc(func(ctx context.Context, pub engine.Publisher) error {
		st := engine.NewCallbackStream(testInput, 3, func() {
			mu.Lock()
			done <- slices.Clone(dropped)
			mu.Unlock()
		})
		st.Dropped = func(pos int64, err error) {
			mu.Lock()
			dropped, reason = append(dropped, pos), err
			mu.Unlock()
		}
		if err := pub.Publish(ctx, request(st, 3)); err != nil {
			return err
		}
		<-ctx.Done()
		return nil
	})
	stop := start(t, p, src)
	if d := <-done; !slices.Equal(d, []int64{2}) {
		t.Fatalf("dropped positions at completion = %v, want [2]", d)
	}
	if !errors.Is(reason, enginetest.ErrRejected) {
		t.Fatalf("reason %v, want the sink's", reason)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
