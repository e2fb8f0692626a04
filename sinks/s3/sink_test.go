package s3out_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/miniotest"
	s3out "github.com/flickerlog/flicker/sinks/s3"
)

// stream returns a file-like stream of input with a seed of its own.
func stream(input, path string) *engine.Stream {
	st := engine.NewStream(&engine.Input{Name: input, Type: "file"}, func(int64) {})
	st.Path = path
	st.IDSeed = engine.SeedID([]byte(input), []byte(path))
	return st
}

// makeEvents returns n events of st from offset first on, at t, with messages of about size bytes.
func makeEvents(st *engine.Stream, first, n int, t time.Time, size int) []engine.Event {
	evs := make([]engine.Event, n)
	for i := range evs {
		msg := fmt.Appendf(nil, "%s %s event %06d ", st.Input.Name, st.Path, first+i)
		for len(msg) < size {
			msg = append(msg, 'x')
		}
		evs[i] = engine.Event{Time: t, Message: msg, Stream: st, Offset: int64(first + i), Pos: int64(first + i + 1)}
	}
	return evs
}

// heldBatch is a batch whose release the test observes.
type heldBatch struct {
	*engine.Batch
	released atomic.Int32
}

func newHeldBatch(evs []engine.Event) *heldBatch {
	h := &heldBatch{}
	h.Batch = engine.NewBatchWithRelease(evs, func() { h.released.Add(1) })
	return h
}

func write(t *testing.T, s *s3out.Sink, b *heldBatch) {
	t.Helper()
	if err := s.Write(t.Context(), b.Batch); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func flush(t *testing.T, s *s3out.Sink) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func closeSink(t *testing.T, s *s3out.Sink) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
}

// checkOnce fails unless objs hold exactly the events of want, each once.
func checkOnce(t *testing.T, objs []stored, want ...[]engine.Event) {
	t.Helper()
	seen := map[string]int{}
	for _, o := range objs {
		for _, e := range o.Events {
			seen[e.Message]++
		}
	}
	n := 0
	for _, evs := range want {
		for _, ev := range evs {
			n++
			if c := seen[string(ev.Message)]; c != 1 {
				t.Errorf("%q stored %d times, want once", ev.Message, c)
			}
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct events stored, want %d:%s", len(seen), n, describe(objs))
	}
}

func TestObjectsHaveKeysAndContents(t *testing.T) {
	srv := startMinIO(t)
	reader, client := srv.Client(t), sinkClient(t, srv, srv.URL())
	ext := map[string]string{"gzip": ".ndjson.gz", "zstd": ".ndjson.zst", "none": ".ndjson"}
	for _, compression := range []string{"gzip", "zstd", "none"} {
		t.Run(compression, func(t *testing.T) {
			base := "logs/" + compression + "/"
			s := newSink(t, s3out.Config{Prefix: base + "%{input}/%{+yyyy/MM/dd/HH}/", Compression: compression,
				MaxObjectAge: time.Hour}, client)
			app, web := stream("app", "/var/log/app.log"), stream("web", "/var/log/web.log")
			late := time.Date(2026, 1, 2, 3, 59, 59, 999_000_000, time.UTC)
			appLate := makeEvents(app, 0, 5, late, 120)
			appNext := makeEvents(app, 5, 5, late.Add(time.Millisecond), 120)
			// 06:30 at UTC+2 is 04:30 UTC: the partition is the UTC hour.
			webEvs := makeEvents(web, 0, 5, time.Date(2026, 1, 2, 6, 30, 0, 0, time.FixedZone("x", 2*3600)), 80)

			b1 := newHeldBatch(concat(appLate, appNext[:2], webEvs[:2]))
			b2 := newHeldBatch(concat(appNext[2:], webEvs[2:]))
			write(t, s, b1)
			write(t, s, b2)
			if got := listObjects(t, reader, bucket, base); len(got) != 0 {
				t.Fatalf("objects written before any cut:%s", describe(got))
			}
			if b1.released.Load() != 0 || b2.released.Load() != 0 {
				t.Fatal("a batch was released before its objects were written")
			}
			closeSink(t, s)
			for i, b := range []*heldBatch{b1, b2} {
				if n := b.released.Load(); n != 1 {
					t.Errorf("batch %d released %d times, want once", i, n)
				}
				for k := range b.Len() {
					if st, err := b.Status(k); st != engine.Accepted {
						t.Errorf("batch %d event %d: status %d (%v)", i, k, st, err)
					}
				}
			}

			objs := listObjects(t, reader, bucket, base)
			checkOnce(t, objs, appLate, appNext, webEvs)
			wantPrefixes := map[string]bool{base + "app/2026/01/02/03/": true, base + "app/2026/01/02/04/": true,
				base + "web/2026/01/02/04/": true}
			if len(objs) != len(wantPrefixes) {
				t.Fatalf("got %d objects, want one per partition %v:%s", len(objs), wantPrefixes, describe(objs))
			}
			keyRE := regexp.MustCompile(`^(.*/)([0-9a-z]{26})-[0-9a-f]{16}` + regexp.QuoteMeta(ext[compression]) + `$`)
			for _, o := range objs {
				m := keyRE.FindStringSubmatch(o.Key)
				if m == nil {
					t.Errorf("key %s does not look like <prefix><first id>-<hash>%s", o.Key, ext[compression])
					continue
				}
				if !wantPrefixes[m[1]] {
					t.Errorf("key %s: unexpected prefix %s", o.Key, m[1])
				}
				if m[2] != o.Events[0].ID {
					t.Errorf("key %s: id %s is not the first event's %s", o.Key, m[2], o.Events[0].ID)
				}
				if o.ContentType != "application/x-ndjson" {
					t.Errorf("%s: Content-Type %q", o.Key, o.ContentType)
				}
				for _, e := range o.Events {
					if !strings.HasPrefix(m[1], base+e.Input.Name+"/") {
						t.Errorf("%s holds an event of input %s", o.Key, e.Input.Name)
					}
				}
			}
			checkInObjectOrder(t, objs)
		})
	}
}

func concat(parts ...[]engine.Event) []engine.Event {
	var out []engine.Event
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// TestSizeCut: objects are cut before their NDJSON passes max_object_bytes, and a batch whose events span a cut
// is released only when the last object holding its events is written.
func TestSizeCut(t *testing.T) {
	srv := startMinIO(t)
	reader := srv.Client(t)
	const maxBytes = 4096
	s := newSink(t, s3out.Config{Prefix: "size/", Compression: "gzip", MaxObjectBytes: maxBytes,
		MaxObjectAge: time.Hour}, sinkClient(t, srv, srv.URL()))
	st := stream("app", "/var/log/app.log")
	evs := makeEvents(st, 0, 200, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), 100)

	first := newHeldBatch(evs[:50])
	write(t, s, first)
	// 50 events of about 285 encoded bytes fill three objects and start a fourth, which age and size leave open.
	waitFor(t, 30*time.Second, "the full objects to be uploaded", func() bool { return s.Stats().Objects >= 2 })
	if n := first.released.Load(); n != 0 {
		t.Fatalf("batch released with some of its events still in the open object")
	}
	flush(t, s)
	if n := first.released.Load(); n != 1 {
		t.Fatalf("batch released %d times after Flush, want once", n)
	}
	var rest []*heldBatch
	for i := 50; i < len(evs); i += 50 {
		b := newHeldBatch(evs[i : i+50])
		write(t, s, b)
		rest = append(rest, b)
	}
	closeSink(t, s)
	for i, b := range rest {
		if n := b.released.Load(); n != 1 {
			t.Errorf("batch %d released %d times, want once", i+1, n)
		}
	}
	objs := listObjects(t, reader, bucket, "size/")
	checkOnce(t, objs, evs)
	if len(objs) < 200*200/maxBytes {
		t.Errorf("%d objects: not cut by size:%s", len(objs), describe(objs))
	}
	for _, o := range objs {
		if o.Raw > maxBytes {
			t.Errorf("%s: %d NDJSON bytes, more than max_object_bytes %d", o.Key, o.Raw, maxBytes)
		}
	}
	checkInObjectOrder(t, objs)
}

// TestAgeCut: an object is written max_object_age after its first event, without more events or a Flush.
func TestAgeCut(t *testing.T) {
	srv := startMinIO(t)
	s := newSink(t, s3out.Config{Prefix: "age/", MaxObjectAge: 200 * time.Millisecond},
		sinkClient(t, srv, srv.URL()))
	evs := makeEvents(stream("app", "a.log"), 0, 10, time.Now(), 50)
	b := newHeldBatch(evs)
	write(t, s, b)
	waitFor(t, 30*time.Second, "the age cut", func() bool { return b.released.Load() == 1 })
	objs := listObjects(t, srv.Client(t), bucket, "age/")
	checkOnce(t, objs, evs)

	// A second object for the same prefix is cut by age as well: the timer follows new objects.
	evs2 := makeEvents(stream("app", "a.log"), 10, 10, time.Now(), 50)
	b2 := newHeldBatch(evs2)
	write(t, s, b2)
	waitFor(t, 30*time.Second, "the second age cut", func() bool { return b2.released.Load() == 1 })
	if n := s.Stats().Objects; n != 2 {
		t.Errorf("%d objects uploaded, want 2", n)
	}
}

// TestOpenObjectsShareTheBound: objects of several prefixes filling together hold at most max_object_bytes of
// the queue: the largest is cut early, before any of them is full and long before the age cut.
func TestOpenObjectsShareTheBound(t *testing.T) {
	srv := startMinIO(t)
	const maxBytes = 16 << 10
	s := newSink(t, s3out.Config{Prefix: "shared/%{input}/", MaxObjectBytes: maxBytes, MaxObjectAge: time.Hour},
		sinkClient(t, srv, srv.URL()))
	now := time.Now()
	var all []engine.Event
	var parts [][]engine.Event
	for _, in := range []string{"a", "b", "c", "d"} {
		evs := makeEvents(stream(in, in+".log"), 0, 40, now, 100) // about 40*(100+160) = 10 KiB of queue each
		parts = append(parts, evs)
	}
	for i := range 40 {
		for _, p := range parts {
			all = append(all, p[i])
		}
	}
	b := newHeldBatch(all)
	write(t, s, b)
	waitFor(t, 30*time.Second, "objects cut by the shared bound", func() bool { return s.Stats().Objects >= 2 })
	closeSink(t, s)
	objs := listObjects(t, srv.Client(t), bucket, "shared/")
	checkOnce(t, objs, parts...)
	if b.released.Load() != 1 {
		t.Error("batch not released")
	}
}

// TestFailedUploadRetriesEvents: with the store down, an object's events are marked for retry and the batch
// released; written again once the store is back, they are stored.
func TestFailedUploadRetriesEvents(t *testing.T) {
	srv := startMinIO(t)
	s := newSink(t, s3out.Config{Prefix: "fail/", MaxObjectAge: time.Hour}, sinkClient(t, srv, srv.URL()))
	evs := makeEvents(stream("app", "a.log"), 0, 20, time.Now(), 50)
	srv.Stop()
	b := newHeldBatch(evs)
	write(t, s, b)
	flush(t, s)
	if b.released.Load() != 1 {
		t.Fatal("batch not released after a failed upload")
	}
	for i := range b.Len() {
		st, err := b.Status(i)
		if st != engine.Retry || err == nil || !strings.Contains(err.Error(), "PutObject s3://"+bucket+"/fail/") {
			t.Fatalf("event %d: status %d, error %v; want Retry with the PutObject error", i, st, err)
		}
	}
	srv.Restart()
	again := newHeldBatch(evs)
	write(t, s, again)
	closeSink(t, s)
	for i := range again.Len() {
		if st, err := again.Status(i); st != engine.Accepted {
			t.Fatalf("event %d after restart: status %d (%v)", i, st, err)
		}
	}
	checkOnce(t, listObjects(t, srv.Client(t), bucket, "fail/"), evs)
	if st := s.Stats(); st.Failed != 1 || st.Objects != 1 || st.Events != 20 {
		t.Errorf("stats %+v, want 1 failed and 1 uploaded object of 20 events", st)
	}
}

// TestDifferentObjectsNeverShareAKey: two objects that start with the same event but hold different events
// (a replay whose cuts differ) get different keys, so the second cannot overwrite events only the first holds.
func TestDifferentObjectsNeverShareAKey(t *testing.T) {
	srv := startMinIO(t)
	s := newSink(t, s3out.Config{Prefix: "distinct/", MaxObjectAge: time.Hour}, sinkClient(t, srv, srv.URL()))
	evs := makeEvents(stream("app", "a.log"), 0, 6, time.Now(), 20)
	write(t, s, newHeldBatch(evs[:3]))
	flush(t, s)
	write(t, s, newHeldBatch(evs))
	flush(t, s)
	objs := listObjects(t, srv.Client(t), bucket, "distinct/")
	if len(objs) != 2 {
		t.Fatalf("want both objects kept:%s", describe(objs))
	}
	if objs[0].Events[0].ID != objs[1].Events[0].ID {
		t.Fatalf("the objects do not start with the same event:%s", describe(objs))
	}
}

// TestKeyEscapesOwnIDs: a source's own id can hold any byte; in the key it is percent-encoded.
func TestKeyEscapesOwnIDs(t *testing.T) {
	srv := startMinIO(t)
	s := newSink(t, s3out.Config{Prefix: "ids/", Compression: "none", MaxObjectAge: time.Hour},
		sinkClient(t, srv, srv.URL()))
	evs := makeEvents(stream("okta", ""), 0, 2, time.Now(), 10)
	evs[0].ID, evs[1].ID = []byte("u/1 ä"), []byte("u-2")
	write(t, s, newHeldBatch(evs))
	closeSink(t, s)
	objs := listObjects(t, srv.Client(t), bucket, "ids/")
	if len(objs) != 1 || !strings.HasPrefix(objs[0].Key, "ids/u%2F1%20%C3%A4-") {
		t.Fatalf("want one object keyed ids/u%%2F1%%20%%C3%%A4-<hash>.ndjson:%s", describe(objs))
	}
	if objs[0].Events[0].ID != "u/1 ä" {
		t.Errorf("stored id %q", objs[0].Events[0].ID)
	}
}

func TestWriteAfterClose(t *testing.T) {
	srv := startMinIO(t)
	s := newSink(t, s3out.Config{}, sinkClient(t, srv, srv.URL()))
	closeSink(t, s)
	b := newHeldBatch(makeEvents(stream("app", "a.log"), 0, 3, time.Now(), 10))
	if err := s.Write(t.Context(), b.Batch); !errors.Is(err, s3out.ErrClosed) {
		t.Fatalf("write after close: %v, want ErrClosed", err)
	}
	if st, _ := b.Status(0); st != engine.Retry {
		t.Errorf("status %d, want Retry", st)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Errorf("second close: %v", err)
	}
}

// TestCloseGivesUpWhenItsContextEnds: a stalled store does not hold Close past its context; the objects it
// abandons are marked for retry.
func TestCloseGivesUpWhenItsContextEnds(t *testing.T) {
	srv := startMinIO(t)
	proxy := miniotest.NewProxy(t, srv.Endpoint())
	s := newSink(t, s3out.Config{Prefix: "stall/", MaxObjectAge: time.Hour, UploadTimeout: time.Minute},
		sinkClient(t, srv, proxy.URL()))
	b := newHeldBatch(makeEvents(stream("app", "a.log"), 0, 5, time.Now(), 10))
	write(t, s, b)
	proxy.Pause()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Close(ctx)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("close with a stalled store: %v, want the context's error", err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("close took %s after its context ended", took)
	}
	proxy.Resume()
	if b.released.Load() != 1 {
		t.Fatal("batch not released")
	}
	if st, _ := b.Status(0); st != engine.Retry {
		t.Errorf("status %d, want Retry", st)
	}
}
