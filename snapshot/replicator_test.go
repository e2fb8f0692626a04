package snapshot_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/internal/miniotest"
	"github.com/flickerlog/flicker/snapshot"
	"github.com/flickerlog/flicker/store"
)

const (
	replKey      = "flicker/registry.json"
	replInterval = 20 * time.Millisecond
)

func TestReplicator(t *testing.T) {
	srv := miniotest.Start(t)
	root := rootClient(t, srv)

	t.Run("uploads on change only", func(t *testing.T) {
		keys := replBucket(t, srv)
		db := newRegistry(t, 10)
		r := snapshot.NewReplicator(root, db, replOptions(t, keys, nil))
		run := startReplicator(t, r)
		waitCond(t, "the first upload", func() bool { return r.Stats().Uploads == 1 })
		h, st := readStored(t, root, keys.Bucket, keys.Latest)
		if m := db.Meta(); h.Epoch != 3 || h.Epoch != m.Epoch || h.Seq != m.Seq || h.InstanceID != m.InstanceID ||
			h.WriterID != "w-1" || h.Hostname != "pod-a" {
			t.Fatalf("stored header %+v, registry meta %+v", h, m)
		}
		stats := r.Stats()
		if !sameHeader(stats.LastHeader, h) || stats.LastSize != st.Size || stats.LastUpload.IsZero() ||
			stats.LastDuration <= 0 || stats.Failures != 0 || stats.HistoryWrites != 0 {
			t.Fatalf("stats %+v after one upload of %d bytes", stats, st.Size)
		}

		time.Sleep(10 * replInterval) // unchanged: nothing to upload
		if n := r.Stats().Uploads; n != 1 {
			t.Fatalf("%d uploads of an unchanged registry", n)
		}
		if _, again := readStored(t, root, keys.Bucket, keys.Latest); again.ETag != st.ETag {
			t.Fatal("the object was rewritten although the registry did not change")
		}

		seq := bumpSeq(t, db)
		waitCond(t, "the second upload", func() bool { return r.Stats().Uploads == 2 })
		if h, _ := readStored(t, root, keys.Bucket, keys.Latest); h.Seq != seq {
			t.Fatalf("stored seq %d, want %d", h.Seq, seq)
		}
		if err := run.stop(t); err != nil {
			t.Fatalf("Run = %v", err)
		}
	})

	t.Run("a first start uploads an empty registry", func(t *testing.T) {
		keys := replBucket(t, srv)
		db, err := store.Open(filepath.Join(t.TempDir(), "registry.db"), store.Options{NoSync: true}, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		r := snapshot.NewReplicator(root, db, replOptions(t, keys, nil))
		startReplicator(t, r)
		waitCond(t, "the first upload", func() bool { return r.Stats().Uploads == 1 })
		if h, _ := readStored(t, root, keys.Bucket, keys.Latest); h.Seq != db.Meta().Seq || h.WriterID != "w-1" {
			t.Fatalf("stored header %+v, registry meta %+v", h, db.Meta())
		}
	})

	t.Run("history slots follow successful uploads", func(t *testing.T) {
		keys := replBucket(t, srv)
		db := newRegistry(t, 10)
		opts := replOptions(t, keys, nil)
		opts.HistoryInterval, opts.HistorySlots = 50*time.Millisecond, 4
		r := snapshot.NewReplicator(root, db, opts)
		run := startReplicator(t, r)
		waitCond(t, "the first history write", func() bool { return r.Stats().HistoryWrites == 1 })
		first := r.Stats().LastHeader
		slot := snapshot.HistorySlot(first.Created, opts.HistoryInterval, opts.HistorySlots)
		if h, _ := readStored(t, root, keys.Bucket, keys.History(slot)); !sameHeader(h, first) {
			t.Fatalf("history slot %d holds %+v, want the first upload %+v", slot, h, first)
		}

		var seq uint64
		for range 12 { // longer than several history intervals
			seq = bumpSeq(t, db)
			time.Sleep(30 * time.Millisecond)
		}
		waitCond(t, "the newest upload", func() bool { return r.Stats().LastHeader.Seq == seq })
		if err := run.stop(t); err != nil {
			t.Fatalf("Run = %v", err)
		}
		stats := r.Stats()
		if stats.HistoryWrites < 2 || stats.HistoryWrites > stats.Uploads {
			t.Fatalf("%d history writes for %d uploads over several history intervals", stats.HistoryWrites,
				stats.Uploads)
		}
		found := 0
		for n := range opts.HistorySlots {
			key := keys.History(n)
			if objectMissing(t, root, keys.Bucket, key) {
				continue
			}
			found++
			h, _ := readStored(t, root, keys.Bucket, key)
			if got := snapshot.HistorySlot(h.Created, opts.HistoryInterval, opts.HistorySlots); got != n {
				t.Errorf("%s holds a snapshot created at %v, which belongs in slot %d", key, h.Created, got)
			}
			if h.Seq > seq || h.WriterID != "w-1" {
				t.Errorf("%s holds %+v", key, h)
			}
		}
		if found == 0 {
			t.Fatal("no history slot was written")
		}
		if !objectMissing(t, root, keys.Bucket, keys.History(opts.HistorySlots)) {
			t.Fatal("a slot outside the ring was written")
		}
	})

	t.Run("no history slot before the latest succeeded", func(t *testing.T) {
		keys := replBucket(t, srv)
		intrude(t, root, keys)
		opts := replOptions(t, keys, nil) // ETag "": the replicator believes there is no object yet
		opts.HistoryInterval, opts.HistorySlots = 50*time.Millisecond, 4
		r := snapshot.NewReplicator(root, newRegistry(t, 10), opts)
		wantFenced(t, startReplicator(t, r).wait(t))
		for n := range opts.HistorySlots {
			if !objectMissing(t, root, keys.Bucket, keys.History(n)) {
				t.Fatalf("history slot %d was written although the latest upload was refused", n)
			}
		}
		if s := r.Stats(); s.Uploads != 0 || s.HistoryWrites != 0 || !s.Fenced {
			t.Fatalf("stats %+v", s)
		}
	})

	t.Run("another writer fences it", func(t *testing.T) {
		keys := replBucket(t, srv)
		db := newRegistry(t, 10)
		r := snapshot.NewReplicator(root, db, replOptions(t, keys, nil))
		run := startReplicator(t, r)
		waitCond(t, "the first upload", func() bool { return r.Stats().Uploads == 1 })
		theirs := intrude(t, root, keys)
		bumpSeq(t, db)
		wantFenced(t, run.wait(t))
		if s := r.Stats(); !s.Fenced || s.Uploads != 1 {
			t.Fatalf("stats %+v", s)
		}
		if h, _ := readStored(t, root, keys.Bucket, keys.Latest); !sameHeader(h, theirs) {
			t.Fatalf("the fenced replicator overwrote the other writer's snapshot: %+v", h)
		}
		// Fenced for good: neither Run nor Final uploads again.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		wantFenced(t, r.Final(ctx))
		wantFenced(t, r.Run(ctx))
		if r.Stats().Uploads != 1 {
			t.Fatal("uploaded after being fenced")
		}
	})

	t.Run("a superseded writer's upload is replaced, not obeyed", func(t *testing.T) {
		keys := replBucket(t, srv)
		db := newRegistry(t, 10)
		if err := db.SetEpoch(5); err != nil { // above the intruder's epoch 3
			t.Fatal(err)
		}
		r := snapshot.NewReplicator(root, db, replOptions(t, keys, nil))
		run := startReplicator(t, r)
		waitCond(t, "the first upload", func() bool { return r.Stats().Uploads == 1 })
		theirs := intrude(t, root, keys)
		seq := bumpSeq(t, db)
		waitCond(t, "our newer state stored again", func() bool {
			h := storedMeta(t, root, keys.Bucket, keys.Latest)
			return h.Epoch == 5 && h.Seq >= seq
		})
		if r.Stats().Fenced || theirs.Epoch != 3 {
			t.Fatalf("fenced by a writer of epoch %d below ours", theirs.Epoch)
		}
		if err := run.stop(t); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("unfenced mode overwrites", func(t *testing.T) {
		keys := replBucket(t, srv)
		db := newRegistry(t, 10)
		opts := replOptions(t, keys, nil)
		opts.Fenced = false
		r := snapshot.NewReplicator(root, db, opts)
		startReplicator(t, r)
		waitCond(t, "the first upload", func() bool { return r.Stats().Uploads == 1 })
		intrude(t, root, keys)
		seq := bumpSeq(t, db)
		waitCond(t, "the second upload", func() bool { return r.Stats().Uploads == 2 })
		if h, _ := readStored(t, root, keys.Bucket, keys.Latest); h.WriterID != "w-1" || h.Seq != seq {
			t.Fatalf("stored %+v", h)
		}
		if r.Stats().Fenced {
			t.Fatal("fenced in unfenced mode")
		}
	})

	t.Run("a foreign object is never overwritten", func(t *testing.T) {
		keys := replBucket(t, srv)
		body := `{"not":"a snapshot"}`
		if _, err := root.PutObject(leaseContext(t), keys.Bucket, keys.Latest, strings.NewReader(body),
			int64(len(body)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		r := snapshot.NewReplicator(root, newRegistry(t, 1), replOptions(t, keys, nil))
		err := startReplicator(t, r).wait(t)
		if !errors.Is(err, snapshot.ErrFenced) || !strings.Contains(err.Error(), "not written by flicker") {
			t.Fatalf("Run = %v", err)
		}
		obj, err := root.GetObject(leaseContext(t), keys.Bucket, keys.Latest, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Close()
		var got bytes.Buffer
		if _, err := got.ReadFrom(obj); err != nil || got.String() != body {
			t.Fatalf("object now %q, %v", got.String(), err)
		}
	})

	t.Run("a deleted object is recreated", func(t *testing.T) {
		keys := replBucket(t, srv)
		db := newRegistry(t, 10)
		logs := &lockedLog{}
		r := snapshot.NewReplicator(root, db, replOptions(t, keys, logs))
		startReplicator(t, r)
		waitCond(t, "the first upload", func() bool { return r.Stats().Uploads == 1 })
		if err := root.RemoveObject(leaseContext(t), keys.Bucket, keys.Latest, minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		seq := bumpSeq(t, db)
		waitCond(t, "the second upload", func() bool { return r.Stats().Uploads == 2 })
		if h, _ := readStored(t, root, keys.Bucket, keys.Latest); h.Seq != seq {
			t.Fatalf("stored seq %d, want %d", h.Seq, seq)
		}
		if s := r.Stats(); s.Fenced || s.Failures != 0 {
			t.Fatalf("stats %+v", s)
		}
		if !strings.Contains(logs.String(), `"level":"warn"`) || !strings.Contains(logs.String(), "is gone") {
			t.Fatalf("no warning about the deleted object in\n%s", logs)
		}
	})

	t.Run("Final uploads the last state once", func(t *testing.T) {
		keys := replBucket(t, srv)
		db := newRegistry(t, 10)
		r := snapshot.NewReplicator(root, db, replOptions(t, keys, nil))
		run := startReplicator(t, r)
		waitCond(t, "the first upload", func() bool { return r.Stats().Uploads == 1 })
		if err := run.stop(t); err != nil {
			t.Fatal(err)
		}
		seq := bumpSeq(t, db)
		if err := r.Final(leaseContext(t)); err != nil {
			t.Fatal(err)
		}
		if h, _ := readStored(t, root, keys.Bucket, keys.Latest); h.Seq != seq {
			t.Fatalf("stored seq %d after Final, want %d", h.Seq, seq)
		}
		if err := r.Final(leaseContext(t)); err != nil {
			t.Fatal(err)
		}
		if n := r.Stats().Uploads; n != 2 {
			t.Fatalf("%d uploads, want 2 (Final of an unchanged registry uploads nothing)", n)
		}
	})

	t.Run("Final gives up when its context ends", func(t *testing.T) {
		keys := replBucket(t, srv)
		proxy := miniotest.NewProxy(t, srv.Endpoint())
		access, secret := srv.RootCredentials()
		c := leaseClient(t, proxy.Endpoint(), access, secret, "", 1)
		opts := replOptions(t, keys, nil)
		opts.UploadTimeout = 200 * time.Millisecond
		db := newRegistry(t, 10)
		r := snapshot.NewReplicator(c, db, opts)
		proxy.Pause()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := r.Final(ctx)
		cancel()
		proxy.Resume()
		if err == nil || errors.Is(err, snapshot.ErrFenced) {
			t.Fatalf("Final with the store stalled = %v, want its last error", err)
		}
		if s := r.Stats(); s.Failures == 0 || s.Uploads != 0 {
			t.Fatalf("stats %+v", s)
		}
		if err := r.Final(leaseContext(t)); err != nil {
			t.Fatalf("Final after the store came back: %v", err)
		}
		if h, _ := readStored(t, root, keys.Bucket, keys.Latest); h.Seq != db.Meta().Seq {
			t.Fatalf("stored seq %d, want %d", h.Seq, db.Meta().Seq)
		}
	})

	t.Run("a lost reply is adopted, not fenced", func(t *testing.T) {
		keys := replBucket(t, srv)
		proxy := miniotest.NewProxy(t, srv.Endpoint())
		access, secret := srv.RootCredentials()
		c := leaseClient(t, proxy.Endpoint(), access, secret, "", 1) // no retries inside minio-go
		logs := &lockedLog{}
		db := newRegistry(t, 10)
		r := snapshot.NewReplicator(c, db, replOptions(t, keys, logs))
		run := startReplicator(t, r)
		waitCond(t, "the first upload", func() bool { return r.Stats().Uploads == 1 })

		proxy.DropReplies(true)
		landed := bumpSeq(t, db)
		waitCond(t, "the upload whose reply is dropped to land", func() bool {
			return storedMeta(t, root, keys.Bucket, keys.Latest).Seq == landed
		})
		waitCond(t, "the failure", func() bool { return r.Stats().Failures > 0 })
		proxy.DropReplies(false)
		// The stored ETag is no longer the one the replicator last confirmed: only recognising its own write
		// keeps it going.
		newest := bumpSeq(t, db)
		waitCond(t, "the newest upload", func() bool { return r.Stats().LastHeader.Seq == newest })
		run.running(t)
		if h, _ := readStored(t, root, keys.Bucket, keys.Latest); h.Seq != newest || h.WriterID != "w-1" {
			t.Fatalf("stored %+v", h)
		}
		if r.Stats().Fenced || !strings.Contains(logs.String(), "reply was lost") {
			t.Fatalf("stats %+v, logs\n%s", r.Stats(), logs)
		}
	})

	t.Run("an outage delays uploads and the newest state follows it", func(t *testing.T) {
		keys := replBucket(t, srv)
		proxy := miniotest.NewProxy(t, srv.Endpoint())
		access, secret := srv.RootCredentials()
		c := leaseClient(t, proxy.Endpoint(), access, secret, "", 1)
		logs := &lockedLog{}
		opts := replOptions(t, keys, logs)
		opts.UploadTimeout = 300 * time.Millisecond
		db := newRegistry(t, 10)
		r := snapshot.NewReplicator(c, db, opts)
		run := startReplicator(t, r)
		waitCond(t, "the first upload", func() bool { return r.Stats().Uploads == 1 })

		proxy.Pause()
		var seq uint64
		for range 5 {
			seq = bumpSeq(t, db)
			time.Sleep(50 * time.Millisecond)
		}
		// Two more failures after the last change: every attempt from then on carries the newest state.
		failures := r.Stats().Failures
		waitCond(t, "two more failed attempts", func() bool { return r.Stats().Failures >= failures+2 })
		if s := r.Stats(); s.Uploads != 1 || s.ConsecutiveFailures < 2 {
			t.Fatalf("stats during the outage %+v", s)
		}
		proxy.Resume()
		waitCond(t, "the newest upload", func() bool { return r.Stats().LastHeader.Seq == seq })
		time.Sleep(10 * replInterval)
		run.running(t)
		if s := r.Stats(); s.Uploads != 2 || s.ConsecutiveFailures != 0 || s.Fenced {
			t.Fatalf("stats after the outage %+v: want exactly one upload, of the newest state (no queue of old ones)", s)
		}
		if h, _ := readStored(t, root, keys.Bucket, keys.Latest); h.Seq != seq {
			t.Fatalf("stored seq %d, want %d", h.Seq, seq)
		}
		for _, s := range []string{`"last_snapshot_age":"`, `"consecutive_failures":`, `"retry_in":`,
			"snapshots resumed", `"outage":`} {
			if !strings.Contains(logs.String(), s) {
				t.Errorf("logs do not have %s:\n%s", s, logs)
			}
		}
	})

	t.Run("restricted credentials suffice", func(t *testing.T) {
		keys := replBucket(t, srv)
		access, secret, token := srv.RestrictedCredentials(t, keys.Bucket, "flicker/")
		c := leaseClient(t, srv.Endpoint(), access, secret, token, 0)
		for obj := range c.ListObjects(leaseContext(t), keys.Bucket, minio.ListObjectsOptions{Prefix: "flicker/"}) {
			if obj.Err == nil {
				t.Fatal("the restricted credentials may list the bucket; the test proves nothing")
			}
		}
		ok, err := snapshot.ProbeConditionalWrites(leaseContext(t), c, keys)
		if err != nil || !ok {
			t.Fatalf("probe = %v, %v", ok, err)
		}
		lease := snapshot.NewLease(c, snapshot.LeaseOptions{Bucket: keys.Bucket, Key: keys.Lease(), WriterID: "w-1",
			Hostname: "pod-a", TTL: time.Second, Skew: testSkew, Logger: zerolog.Nop()})
		epoch, err := lease.Acquire(leaseContext(t), 0)
		if err != nil {
			t.Fatal(err)
		}
		if epoch != 1 {
			t.Fatalf("epoch %d", epoch)
		}
		kept := keepLease(t, lease, 50*time.Millisecond)
		db := newRegistry(t, 10)
		opts := replOptions(t, keys, nil)
		opts.HistoryInterval, opts.HistorySlots = time.Hour, 4
		r := snapshot.NewReplicator(c, db, opts)
		run := startReplicator(t, r)
		waitCond(t, "an upload and its history copy", func() bool { return r.Stats().HistoryWrites == 1 })
		acquired := lease.State().LastRenewed
		waitCond(t, "a lease renewal", func() bool { return lease.State().LastRenewed.After(acquired) })
		// Telling a fence from a lost reply takes a HEAD: GetObject permission covers it.
		intrude(t, root, keys)
		bumpSeq(t, db)
		wantFenced(t, run.wait(t))
		if err := kept.stop(t); err != nil {
			t.Fatalf("Keep = %v", err)
		}
		if err := lease.Release(leaseContext(t)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("leftover temp files are removed", func(t *testing.T) {
		keys := replBucket(t, srv)
		opts := replOptions(t, keys, nil)
		for _, name := range []string{"snapshot-123.db", "snapshot-456.zst", "registry.db", "notes.txt"} {
			if err := os.WriteFile(filepath.Join(opts.TmpDir, name), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		r := snapshot.NewReplicator(root, newRegistry(t, 10), opts)
		if got := dirNames(t, opts.TmpDir); !slices.Equal(got, []string{"notes.txt", "registry.db"}) {
			t.Fatalf("temp dir holds %v after NewReplicator", got)
		}
		run := startReplicator(t, r)
		waitCond(t, "the first upload", func() bool { return r.Stats().Uploads == 1 })
		if err := run.stop(t); err != nil {
			t.Fatal(err)
		}
		if got := dirNames(t, opts.TmpDir); !slices.Equal(got, []string{"notes.txt", "registry.db"}) {
			t.Fatalf("temp dir holds %v after an upload", got)
		}
	})
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
