package engine_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
)

// The queue bound must cover every event from Publish to its acknowledgement (DESIGN §2: "every buffer from read to
// final acknowledgement is accounted"; a source keeps an event's bytes until it is acknowledged). An output that
// keeps one event of a stream in retry while it goes on with the later ones (a SinkPool, or any holding sink)
// frees the later events' room, so a source reads on without bound while none of it can be acknowledged.
// An event an output retries while it goes on writing later batches (a SinkPool: the http and elasticsearch
// outputs) holds the stream's acknowledgement: the events after it, done by every output, keep their queue room
// until the acknowledgement passes them, since their source keeps their bytes until then. The source cannot read
// on without bound behind the retried event.
func TestRetriedEventKeepsTheQueueBoundUntilAcknowledged(t *testing.T) {
	mem, sinks := newMembers(2)
	var stuck atomic.Bool
	stuck.Store(true)
	for _, m := range mem {
		m.RetryWhen(func(ev *engine.Event, _ int) bool { return ev.Pos == 1 && stuck.Load() })
	}
	const maxEvents = 8
	p := newPipeline(t, engine.Options{
		Queue:   engine.QueueLimits{MaxEvents: maxEvents},
		Batch:   engine.BatchLimits{MaxEvents: 1},
		Outputs: []engine.Output{output("pool", engine.NewSinkPool(sinks))},
	})
	var acked atomic.Int64
	st := engine.NewStream(testInput, func(pos int64) { acked.Store(pos) })
	var published atomic.Int64
	src := sourceFunc(func(ctx context.Context, pub engine.Publisher) error {
		for i := int64(1); i <= 1000; i++ {
			if err := pub.Publish(ctx, []engine.Event{{Stream: st, Message: make([]byte, 1024), Pos: i}}); err != nil {
				return nil
			}
			published.Store(i)
		}
		<-ctx.Done()
		return nil
	})
	stop := start(t, p, src)
	time.Sleep(500 * time.Millisecond)
	pending := published.Load() - acked.Load()
	stuck.Store(false)
	enginetest.Eventually(t, time.Minute, func() bool { return acked.Load() == 1000 }, "everything acknowledged")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if pending > maxEvents {
		t.Fatalf("%d events published and not acknowledged (their bytes held by the source) with queue.max_events %d",
			pending, maxEvents)
	}
}
