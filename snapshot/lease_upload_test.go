package snapshot_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/internal/miniotest"
	"github.com/flickerlog/flicker/snapshot"
	"github.com/flickerlog/flicker/store"
)

// A conditional upload of the latest proves ownership as a renewal does (issue 17): these tests run a holder
// whose replicator uploads all the time and a second instance that watches both objects.

// uploadTTL is long enough against the replicator's 20ms interval that a busy writer never needs a renewal
// (that takes an upload gap of TTL/2), even on a loaded machine, and short enough for takeovers within seconds.
const uploadTTL = 4 * time.Second

// watchingLease is a lease that judges its holder from the lease and the latest, as the run command's does.
func watchingLease(c *minio.Client, keys snapshot.Keys, writer string) *snapshot.Lease {
	return snapshot.NewLease(c, snapshot.LeaseOptions{Bucket: keys.Bucket, Key: keys.Lease(), WriterID: writer,
		Hostname: "host-" + writer, TTL: uploadTTL, Skew: testSkew, Poll: 50 * time.Millisecond,
		Latest: keys.Latest, HoldAfterTakeover: true, Logger: zerolog.Nop()})
}

// busyWriter is a lease holder whose registry changes all the time, with its keeper and replicator running.
type busyWriter struct {
	lease *snapshot.Lease
	db    *store.DB
	repl  *snapshot.Replicator
	keep  *background
	run   *background
	bumps *background
}

func startBusyWriter(t *testing.T, c *minio.Client, keys snapshot.Keys, writer string) *busyWriter {
	t.Helper()
	w := &busyWriter{lease: watchingLease(c, keys, writer), db: newRegistry(t, 3)}
	if _, err := w.lease.Acquire(leaseContext(t), 0); err != nil {
		t.Fatal(err)
	}
	opts := replOptions(t, keys, nil)
	opts.WriterID, opts.Lease = writer, w.lease
	w.repl = snapshot.NewReplicator(c, w.db, opts)
	w.keep = inBackground(t, "Keep", func(ctx context.Context) error { return w.lease.Keep(ctx, 0) })
	w.run = startReplicator(t, w.repl)
	w.bumps = inBackground(t, "bumps", func(ctx context.Context) error {
		for i := 0; ctx.Err() == nil; i++ {
			w.db.PutFile(fileRecord(200000 + i))
			if err := w.db.Flush(ctx); err != nil && ctx.Err() == nil {
				return err
			}
			time.Sleep(10 * time.Millisecond)
		}
		return nil
	})
	return w
}

// kill stops the writer as kill -9 would: no release, no final upload.
func (w *busyWriter) kill(t *testing.T) {
	t.Helper()
	for _, b := range []*background{w.bumps, w.run, w.keep} {
		if err := b.stop(t); err != nil {
			t.Fatalf("%s: %v", b.what, err)
		}
	}
}

func TestLeaseRenewedByUploads(t *testing.T) {
	t.Parallel()
	srv := miniotest.Start(t)
	root := rootClient(t, srv)

	t.Run("a busy writer keeps the lease without writing it, and is not taken over", func(t *testing.T) {
		keys := replBucket(t, srv)
		a := startBusyWriter(t, root, keys, "a")
		acquired := storedLease(t, root, keys.Bucket)
		uploads := a.repl.Stats().Uploads

		// Longer than TTL plus skew, watched by b the whole time: a stale lease object alone would let b take over.
		_, err := watchingLease(root, keys, "b").Acquire(leaseContext(t), uploadTTL+testSkew+time.Second)
		wantHeld(t, err, "a")
		if !strings.Contains(err.Error(), "its latest snapshot changed while watched") {
			t.Errorf("the held error does not say what showed the busy holder alive: %v", err)
		}
		if rec := storedLease(t, root, keys.Bucket); rec.WriteID != acquired.WriteID {
			t.Fatalf("the lease object was written while snapshots flowed: %+v, acquired %+v", rec, acquired)
		}
		if n := a.repl.Stats().Uploads; n < uploads+10 {
			t.Fatalf("%d uploads while b watched; the writer was not busy and the test proves nothing", n-uploads)
		}
		if !a.lease.Confirmed() {
			t.Fatal("the busy writer's lease is not confirmed more than one TTL after its last write of the lease object")
		}
		a.kill(t)
	})

	t.Run("a writer that stops uploading and renewing is taken over, and its uploads fail", func(t *testing.T) {
		keys := replBucket(t, srv)
		a := startBusyWriter(t, root, keys, "a")
		waitCond(t, "uploads", func() bool { return a.repl.Stats().Uploads >= 3 })
		a.kill(t)

		b := watchingLease(root, keys, "b")
		start := time.Now()
		acquireT(t, b, 30*time.Second, 2)
		if waited := time.Since(start); waited < uploadTTL+testSkew {
			t.Fatalf("took over after %v, before TTL+skew %v", waited, uploadTTL+testSkew)
		}
		if b.Confirmed() || !b.TakingOver() {
			t.Fatalf("the new holder before its first upload of the latest: confirmed %v, taking over %v; want "+
				"not confirmed, taking over", b.Confirmed(), b.TakingOver())
		}
		watched := storedETag(t, root, keys)
		bDB := newRegistry(t, 1)
		if err := bDB.SetEpoch(4); err != nil { // above a's (newRegistry's 3)
			t.Fatal(err)
		}
		opts := replOptions(t, keys, nil)
		opts.WriterID, opts.Lease, opts.ETag = "b", b, watched
		bRepl := snapshot.NewReplicator(root, bDB, opts)
		if err := bRepl.Final(leaseContext(t)); err != nil {
			t.Fatalf("the new holder's first upload: %v", err)
		}
		if !b.Confirmed() || b.TakingOver() {
			t.Fatal("the new holder is not confirmed after its first upload on the ETag it watched")
		}

		// The old holder, resuming, cannot upload over it.
		bumpSeq(t, a.db)
		err := a.repl.Final(leaseContext(t))
		wantFencedBy(t, err, "b")
	})

	t.Run("an upload of the old holder after the watch holds the new one back for a TTL", func(t *testing.T) {
		keys := replBucket(t, srv)
		a := startBusyWriter(t, root, keys, "a")
		waitCond(t, "uploads", func() bool { return a.repl.Stats().Uploads >= 3 })
		a.kill(t)
		b := watchingLease(root, keys, "b")
		acquireT(t, b, 30*time.Second, 2)
		watched := storedETag(t, root, keys)

		// The old holder's network comes back just after b took the lease: its upload still lands (b cannot
		// tell it from a delayed request sent before a's confirmation lapsed, which would confirm a), but it
		// does not confirm a, whose confirmation lapsed: only a write of the lease object could.
		bumpSeq(t, a.db)
		if err := a.repl.Final(leaseContext(t)); err != nil {
			t.Fatalf("the old holder's late upload: %v", err)
		}
		if a.lease.Confirmed() {
			t.Fatal("an upload after the old holder's confirmation lapsed confirmed it again")
		}

		bDB := newRegistry(t, 1)
		if err := bDB.SetEpoch(4); err != nil {
			t.Fatal(err)
		}
		opts := replOptions(t, keys, nil)
		opts.WriterID, opts.Lease, opts.ETag = "b", b, watched
		bRepl := snapshot.NewReplicator(root, bDB, opts)
		inBackground(t, "Keep", func(ctx context.Context) error { return b.Keep(ctx, 0) })
		uploaded := time.Now()
		if err := bRepl.Final(leaseContext(t)); err != nil { // refused, then it replaces the superseded writer's
			t.Fatalf("the new holder's first upload: %v", err)
		}
		if b.Confirmed() || !b.TakingOver() {
			t.Fatal("the new holder is confirmed while the old holder's upload may still confirm it")
		}
		if err := b.WaitConfirmed(leaseContext(t)); err != nil {
			t.Fatal(err)
		}
		if held := time.Since(uploaded); held < uploadTTL+testSkew {
			t.Fatalf("confirmed %v after the upload, before TTL+skew %v", held, uploadTTL+testSkew)
		}
		if a.lease.Confirmed() {
			t.Fatal("both holders confirmed at once")
		}
		bumpSeq(t, a.db)
		wantFencedBy(t, a.repl.Final(leaseContext(t)), "b")
	})
}

// storedETag is the latest object's ETag, from a HEAD.
func storedETag(t *testing.T, c *minio.Client, keys snapshot.Keys) string {
	t.Helper()
	st, err := c.StatObject(leaseContext(t), keys.Bucket, keys.Latest, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return st.ETag
}

// wantFencedBy checks that err is ErrFenced naming writer.
func wantFencedBy(t *testing.T, err error, writer string) {
	t.Helper()
	if !errors.Is(err, snapshot.ErrFenced) {
		t.Fatalf("err = %v, want ErrFenced", err)
	}
	if want := "writer " + writer; !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to name %q", err, want)
	}
}
