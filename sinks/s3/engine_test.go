package s3out_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
	s3out "github.com/flickerlog/flicker/sinks/s3"
)

// countingSink counts the events its sink has taken (Write returned), so a test knows when every event of a
// run is in an object.
type countingSink struct {
	*s3out.Sink
	written atomic.Int64
}

func (c *countingSink) Write(ctx context.Context, b *engine.Batch) error {
	err := c.Sink.Write(ctx, b)
	c.written.Add(int64(b.Len()))
	return err
}

// running is a pipeline running in the background until stop.
type running struct {
	p      *engine.Pipeline
	cancel context.CancelFunc
	done   chan error
}

func runPipeline(t *testing.T, opts engine.Options, src engine.Source) *running {
	t.Helper()
	opts.Logger = zerolog.Nop()
	p, err := engine.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	r := &running{p: p, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- p.Run(ctx, []engine.Source{src}) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels the run and waits for Run to return; a second call returns at once.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if err, ok := <-r.done; ok {
		close(r.done)
		if err != nil {
			t.Errorf("run: %v", err)
		}
	}
}

func allAcked(src *enginetest.PullSource, content map[string][][]byte) bool {
	for name, msgs := range content {
		if src.Acked(name) != int64(len(msgs)) {
			return false
		}
	}
	return true
}

func ackedCount(src *enginetest.PullSource, content map[string][][]byte) (n int64) {
	for name := range content {
		n += src.Acked(name)
	}
	return n
}

// TestStoreStoppedMidRunLosesNothing: MinIO is killed while the pipeline ships and started again a few seconds
// later. Uploads fail meanwhile, the engine retries their events, and in the end every event is in some
// object, at least once.
func TestStoreStoppedMidRunLosesNothing(t *testing.T) {
	srv := startMinIO(t)
	sink := newSink(t, s3out.Config{Prefix: "outage/%{input}/", MaxObjectBytes: 16 << 10,
		MaxObjectAge: 200 * time.Millisecond, UploadTimeout: 10 * time.Second}, sinkClient(t, srv, srv.URL()))
	content := enginetest.SuiteContent(4, 5000)
	total := int64(4 * 5000)
	src := enginetest.NewPullSource(&engine.Input{Name: "app", Type: "file"}, content)
	src.Follow = true
	// A queue of twice the object size paces the source by the uploads, so the outage comes mid-run.
	run := runPipeline(t, engine.Options{
		Queue:   engine.QueueLimits{MaxBytes: 32 << 10},
		Batch:   engine.BatchLimits{MaxEvents: 64, MaxWait: 5 * time.Millisecond},
		Outputs: []engine.Output{{Name: "s3", Sink: sink, Retry: engine.RetryPolicy{Initial: 50 * time.Millisecond, Max: 500 * time.Millisecond}}},
	}, src)

	waitFor(t, time.Minute, "the first objects", func() bool { return sink.Stats().Objects >= 3 })
	srv.Stop()
	if acked := ackedCount(src, content); acked == total {
		t.Fatal("every event was acknowledged before the store stopped: the outage did not come mid-run")
	}
	waitFor(t, time.Minute, "failed uploads", func() bool { return sink.Stats().Failed >= 2 })
	time.Sleep(2 * time.Second)
	acked := ackedCount(src, content)
	srv.Restart()
	waitFor(t, 2*time.Minute, "every event acknowledged", func() bool { return allAcked(src, content) })
	run.stop(t)

	if errs := src.AckErrors(); len(errs) > 0 {
		t.Fatalf("acknowledgement errors: %v", errs)
	}
	out, _ := run.p.Stats().Output("s3")
	if out.Retried == 0 {
		t.Error("the engine retried no event")
	}
	objs := listObjects(t, srv.Client(t), bucket, "outage/")
	enginetest.CheckStreams(t, content, messagesByStream(objs), true)
	stored := 0
	for _, o := range objs {
		stored += len(o.Events)
	}
	t.Logf("%d events acknowledged before the restart; %d objects, %d events stored for %d sent; %d failed uploads, "+
		"%d events retried", acked, len(objs), stored, total, sink.Stats().Failed, out.Retried)
}

// TestReplayRewritesTheSameKeys: a second run over the same events (as after a crash that lost the checkpoints)
// cuts the same objects and overwrites them: the set of keys does not grow.
func TestReplayRewritesTheSameKeys(t *testing.T) {
	srv := startMinIO(t)
	client, reader := sinkClient(t, srv, srv.URL()), srv.Client(t)
	content := enginetest.SuiteContent(3, 1000)
	total := int64(3 * 1000)
	shipAll := func() {
		t.Helper()
		// Age cuts depend on timing; with size cuts only, the cuts depend on the events alone.
		sink := &countingSink{Sink: newSink(t, s3out.Config{Prefix: "replay/" + s3out.DefaultPrefix,
			MaxObjectBytes: 32 << 10, MaxObjectAge: time.Hour}, client)}
		src := enginetest.NewPullSource(&engine.Input{Name: "app", Type: "file"}, content)
		src.Follow = true
		run := runPipeline(t, engine.Options{
			Batch:   engine.BatchLimits{MaxEvents: 100, MaxWait: 5 * time.Millisecond},
			Outputs: []engine.Output{{Name: "s3", Sink: sink}},
		}, src)
		waitFor(t, time.Minute, "every event written", func() bool { return sink.written.Load() == total })
		flush(t, sink.Sink) // the last object, which the age cut would take an hour to write
		waitFor(t, time.Minute, "every event acknowledged", func() bool { return allAcked(src, content) })
		run.stop(t)
	}

	shipAll()
	first := listObjects(t, reader, bucket, "replay/")
	enginetest.CheckStreams(t, content, messagesByStream(first), false)
	checkInObjectOrder(t, first)
	if len(first) < 5 {
		t.Fatalf("only %d objects: the test needs several size cuts", len(first))
	}
	time.Sleep(10 * time.Millisecond) // LastModified must be able to tell the runs apart

	shipAll()
	second := listObjects(t, reader, bucket, "replay/")
	if got, want := keys(second), keys(first); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("the replay changed the set of keys:\nfirst run:%s\nafter replay:%s", describe(first),
			describe(second))
	}
	enginetest.CheckStreams(t, content, messagesByStream(second), false)
	before := map[string]time.Time{}
	for _, o := range first {
		before[o.Key] = o.LastModified
	}
	for _, o := range second {
		if !o.LastModified.After(before[o.Key]) {
			t.Errorf("%s was not rewritten by the replay (last modified %s, before %s)", o.Key, o.LastModified,
				before[o.Key])
		}
	}
}

// TestDeadLetterObjects: as another output's dead letter, the sink archives the rejected events with the
// reason.
func TestDeadLetterObjects(t *testing.T) {
	srv := startMinIO(t)
	dl := newSink(t, s3out.Config{Prefix: "dead/", MaxObjectAge: 100 * time.Millisecond},
		sinkClient(t, srv, srv.URL()))
	mem := enginetest.NewMemorySink()
	mem.RejectWhen(func(ev *engine.Event) bool { return ev.Offset%3 == 0 })
	content := enginetest.SuiteContent(2, 300)
	src := enginetest.NewPullSource(&engine.Input{Name: "app", Type: "file"}, content)
	run := runPipeline(t, engine.Options{
		Batch:   engine.BatchLimits{MaxEvents: 64, MaxWait: 5 * time.Millisecond},
		Outputs: []engine.Output{{Name: "mem", Sink: mem, DeadLetter: dl}},
	}, src)
	err := <-run.done // once mode: Run returns after draining, dead letters included
	close(run.done)
	if err != nil {
		t.Fatal(err)
	}
	objs := listObjects(t, srv.Client(t), bucket, "dead/")
	want := map[string][][]byte{}
	for name, msgs := range content {
		for i := 0; i < len(msgs); i += 3 {
			want[name] = append(want[name], msgs[i])
		}
	}
	enginetest.CheckStreams(t, want, messagesByStream(objs), false)
	for _, o := range objs {
		for _, e := range o.Events {
			if e.DeadLetter == nil || !strings.Contains(e.DeadLetter.Reason, enginetest.ErrRejected.Error()) {
				t.Fatalf("%s: event %q without the rejection reason: %+v", o.Key, e.Message, e.DeadLetter)
			}
		}
	}
}
