package s3out_test

import (
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
	s3out "github.com/flickerlog/flicker/sinks/s3"
)

// TestMaxOpenObjectsCutsTheLeastRecent: opening an object past max_open_objects cuts the open object that took
// an event least recently, long before its age cut; the others stay open.
func TestMaxOpenObjectsCutsTheLeastRecent(t *testing.T) {
	srv := startMinIO(t)
	s := newSink(t, s3out.Config{Prefix: "open/%{input}/", MaxOpenObjects: 2, MaxObjectAge: time.Hour},
		sinkClient(t, srv, srv.URL()))
	now := time.Now()
	a := makeEvents(stream("a", "a.log"), 0, 2, now, 50)
	b := makeEvents(stream("b", "b.log"), 0, 1, now, 50)
	c := makeEvents(stream("c", "c.log"), 0, 1, now, 50)
	write(t, s, newHeldBatch([]engine.Event{a[0], b[0]}))
	write(t, s, newHeldBatch(a[1:])) // b is now the least recent
	write(t, s, newHeldBatch(c))     // a third object: b is cut
	waitFor(t, 30*time.Second, "the least recent object cut", func() bool { return s.Stats().Objects >= 1 })
	objs := listObjects(t, srv.Client(t), bucket, "open/")
	if len(objs) != 1 || !strings.HasPrefix(objs[0].Key, "open/b/") {
		t.Fatalf("want only b's object cut:%s", describe(objs))
	}
	closeSink(t, s)
	objs = listObjects(t, srv.Client(t), bucket, "open/")
	checkOnce(t, objs, a, b, c)
	if len(objs) != 3 {
		t.Errorf("want one object per input:%s", describe(objs))
	}
}

// TestQueueEventBoundCutsObjects: with a queue whose event bound binds long before max_object_bytes, open
// objects are cut once together they hold half the queue's events, whether one prefix or several hold them.
func TestQueueEventBoundCutsObjects(t *testing.T) {
	srv := startMinIO(t)
	s := newSink(t, s3out.Config{Prefix: "qevents/%{input}/", MaxObjectBytes: 1 << 20, MaxObjectAge: time.Hour},
		sinkClient(t, srv, srv.URL()))
	s.SetQueueLimits(200, 64<<20)
	now := time.Now()

	one := makeEvents(stream("one", "one.log"), 0, 100, now, 50)
	write(t, s, newHeldBatch(one[:60]))
	write(t, s, newHeldBatch(one[60:]))
	waitFor(t, 30*time.Second, "the object holding half the queue's events", func() bool {
		return s.Stats().Objects == 1
	})
	if objs := listObjects(t, srv.Client(t), bucket, "qevents/one/"); len(objs) != 1 || len(objs[0].Events) != 100 {
		t.Fatalf("want one object of 100 events:%s", describe(objs))
	}

	// Four prefixes of 30 events each: none reaches half the queue alone, together they do.
	var parts [][]engine.Event
	for _, in := range []string{"w", "x", "y", "z"} {
		parts = append(parts, makeEvents(stream(in, in+".log"), 0, 30, now, 50))
	}
	var mixed []engine.Event
	for i := range 30 {
		for _, p := range parts {
			mixed = append(mixed, p[i])
		}
	}
	write(t, s, newHeldBatch(mixed))
	waitFor(t, 30*time.Second, "an object cut by the shared event bound", func() bool {
		return s.Stats().Objects >= 2
	})
	closeSink(t, s)
	checkOnce(t, listObjects(t, srv.Client(t), bucket, "qevents/"), append(parts, one)...)
}

// TestSmallEventQueueDoesNotStall: a pipeline whose queue holds 200 events ships through an output of 1 MiB
// objects without waiting for max_object_age (an hour here): the sink knows the queue's bounds.
func TestSmallEventQueueDoesNotStall(t *testing.T) {
	srv := startMinIO(t)
	sink := &countingSink{Sink: newSink(t, s3out.Config{Prefix: "smallqueue/", MaxObjectBytes: 1 << 20,
		MaxObjectAge: time.Hour}, sinkClient(t, srv, srv.URL()))}
	queue := engine.QueueLimits{MaxEvents: 200}
	sink.SetQueueLimits(queue.MaxEvents, queue.MaxBytes) // as cmd/flicker does
	content := enginetest.SuiteContent(2, 1500)
	total := int64(2 * 1500)
	src := enginetest.NewPullSource(&engine.Input{Name: "app", Type: "file"}, content)
	src.Follow = true
	run := runPipeline(t, engine.Options{
		Queue:   queue,
		Batch:   engine.BatchLimits{MaxEvents: 64, MaxWait: 5 * time.Millisecond},
		Outputs: []engine.Output{{Name: "s3", Sink: sink}},
	}, src)
	waitFor(t, time.Minute, "every event written", func() bool { return sink.written.Load() == total })
	flush(t, sink.Sink) // the last object, below half the queue
	waitFor(t, time.Minute, "every event acknowledged", func() bool { return allAcked(src, content) })
	run.stop(t)
	objs := listObjects(t, srv.Client(t), bucket, "smallqueue/")
	enginetest.CheckStreams(t, content, messagesByStream(objs), false)
	for _, o := range objs {
		if len(o.Events) > 100 {
			t.Errorf("%s holds %d events, more than half the queue", o.Key, len(o.Events))
		}
	}
}
