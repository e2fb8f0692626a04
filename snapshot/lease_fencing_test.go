package snapshot_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/internal/miniotest"
	"github.com/flickerlog/flicker/snapshot"
)

// Fencing holes found by the review of issue 17 (renewal by upload): each test here failed on the code before
// the fix.

// ttlLease is a watchingLease with its own TTL.
func ttlLease(c *minio.Client, keys snapshot.Keys, writer string, ttl time.Duration) *snapshot.Lease {
	return snapshot.NewLease(c, snapshot.LeaseOptions{Bucket: keys.Bucket, Key: keys.Lease(), WriterID: writer,
		Hostname: "host-" + writer, TTL: ttl, Skew: testSkew, Poll: 50 * time.Millisecond,
		Latest: keys.Latest, HoldAfterTakeover: true, Logger: zerolog.Nop()})
}

// TestLeaseReleasedTakeoverWhileOldHolderUploads: a frozen holder a is taken over by b, which releases without
// uploading (its start failed). a resumes: its upload still lands (nobody wrote the latest) but must not confirm
// it, and its keeper must learn that it lost the lease; a later c takes the released lease and, since the latest
// changed after b's release, holds after its first upload.
func TestLeaseReleasedTakeoverWhileOldHolderUploads(t *testing.T) {
	t.Parallel()
	srv := miniotest.Start(t)
	root := rootClient(t, srv)
	keys := replBucket(t, srv)

	a := watchingLease(root, keys, "a")
	acquireT(t, a, 0, 1)
	aDB := newRegistry(t, 3)
	opts := replOptions(t, keys, nil)
	opts.WriterID, opts.Lease = "a", a
	aRepl := snapshot.NewReplicator(root, aDB, opts)
	if err := aRepl.Final(leaseContext(t)); err != nil {
		t.Fatal(err)
	}
	// a is frozen now (no Keep, no upload); b takes over after TTL+skew, then its start aborts and releases.
	b := watchingLease(root, keys, "b")
	acquireT(t, b, 30*time.Second, 2)
	if err := b.Release(leaseContext(t)); err != nil {
		t.Fatal(err)
	}
	if a.Confirmed() {
		t.Fatal("a confirmed while frozen past its TTL; the test proves nothing")
	}

	// a resumes: its upload lands, but its confirmation had lapsed.
	bumpSeq(t, aDB)
	if err := aRepl.Final(leaseContext(t)); err != nil {
		t.Fatalf("a's upload after the takeover: %v", err)
	}
	if a.Confirmed() {
		t.Fatal("a's upload after its confirmation lapsed confirmed it again")
	}
	keep := inBackground(t, "Keep", func(ctx context.Context) error { return a.Keep(ctx, 0) })
	if err := keep.wait(t); !errors.Is(err, snapshot.ErrLeaseLost) {
		t.Fatalf("a's Keep returned %v, want ErrLeaseLost", err)
	}
	if a.Confirmed() || !a.State().Lost {
		t.Fatalf("a after its keeper returned: confirmed %v, state %+v; want lost", a.Confirmed(), a.State())
	}

	// c takes the released lease at once, but the latest changed after the release: it holds after its first
	// upload.
	c := watchingLease(root, keys, "c")
	acquireT(t, c, 0, 3)
	if err := takerReplicator(t, root, keys, "c", c, storedETag(t, root, keys)).Final(leaseContext(t)); err != nil {
		t.Fatal(err)
	}
	if c.Confirmed() || !c.TakingOver() {
		t.Fatalf("c after its first upload: confirmed %v, taking over %v; want a hold (the latest changed after "+
			"the release)", c.Confirmed(), c.TakingOver())
	}
}

// TestLeaseDeletedWhileBusyHolder: the lease object is deleted while a busy holder runs (it writes no lease
// object, its uploads confirm it). The holder must learn that within a renewal period, and an instance that then
// creates the lease over the existing latest holds after its first upload.
func TestLeaseDeletedWhileBusyHolder(t *testing.T) {
	t.Parallel()
	srv := miniotest.Start(t)
	root := rootClient(t, srv)
	keys := replBucket(t, srv)
	a := startBusyWriter(t, root, keys, "a")
	waitCond(t, "uploads", func() bool { return a.repl.Stats().Uploads >= 3 })
	if err := root.RemoveObject(leaseContext(t), keys.Bucket, keys.Lease(), minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := a.keep.wait(t); !errors.Is(err, snapshot.ErrLeaseLost) {
		t.Fatalf("the busy holder's Keep returned %v, want ErrLeaseLost", err)
	}
	if a.lease.Confirmed() || !a.lease.State().Lost {
		t.Fatalf("the busy holder after the deletion: confirmed %v, state %+v; want lost", a.lease.Confirmed(),
			a.lease.State())
	}
	if err := a.bumps.stop(t); err != nil {
		t.Fatal(err)
	}
	if err := a.run.stop(t); err != nil {
		t.Fatal(err)
	}

	c := watchingLease(root, keys, "c")
	acquireT(t, c, 0, 1)
	if err := takerReplicator(t, root, keys, "c", c, storedETag(t, root, keys)).Final(leaseContext(t)); err != nil {
		t.Fatal(err)
	}
	if c.Confirmed() || !c.TakingOver() {
		t.Fatalf("c, which created the lease next to an existing latest, after its first upload: confirmed %v, "+
			"taking over %v; want a hold", c.Confirmed(), c.TakingOver())
	}
}

// TestHoldAfterTakeoverOwnLostReply: the taker's first upload, made on the watched ETag, lands but its reply is
// lost; the retry is refused and finds our own object. The old holder wrote nothing, so no hold.
func TestHoldAfterTakeoverOwnLostReply(t *testing.T) {
	t.Parallel()
	srv := miniotest.Start(t)
	root := rootClient(t, srv)
	keys := replBucket(t, srv)
	a := startBusyWriter(t, root, keys, "a")
	waitCond(t, "uploads", func() bool { return a.repl.Stats().Uploads >= 3 })
	a.kill(t)
	b := watchingLease(root, keys, "b")
	acquireT(t, b, 30*time.Second, 2)
	watched := storedETag(t, root, keys)

	access, secret := srv.RootCredentials()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	lost := &lostReply{next: tr}
	lossy, err := minio.New(srv.Endpoint(), &minio.Options{Creds: credentials.NewStaticV4(access, secret, ""),
		Region: miniotest.Region, Transport: lost, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := takerReplicator(t, lossy, keys, "b", b, watched).Final(leaseContext(t)); err != nil {
		t.Fatalf("b's first upload: %v", err)
	}
	if lost.dropped.Load() != 1 {
		t.Fatal("no reply was dropped; the test proves nothing")
	}
	if !b.Confirmed() || b.TakingOver() {
		t.Fatalf("after b's first upload (the old holder wrote nothing since the watch): confirmed %v, taking "+
			"over %v; want confirmed with no hold", b.Confirmed(), b.TakingOver())
	}
}

// TestHoldAfterTakeoverUsesHolderTTL: the hold after a takeover lasts the old holder's TTL when it is longer
// than the taker's, since the old holder's last upload confirms it for its own TTL.
func TestHoldAfterTakeoverUsesHolderTTL(t *testing.T) {
	t.Parallel()
	srv := miniotest.Start(t)
	root := rootClient(t, srv)
	keys := replBucket(t, srv)
	const longTTL, shortTTL = 6 * time.Second, 2 * time.Second
	a := ttlLease(root, keys, "a", longTTL)
	acquireT(t, a, 0, 1)
	aDB := newRegistry(t, 3)
	opts := replOptions(t, keys, nil)
	opts.WriterID, opts.Lease = "a", a
	aRepl := snapshot.NewReplicator(root, aDB, opts)
	if err := aRepl.Final(leaseContext(t)); err != nil {
		t.Fatal(err)
	}
	b := ttlLease(root, keys, "b", shortTTL)
	acquireT(t, b, 30*time.Second, 2) // waits max(2s, 6s)+skew
	watched := storedETag(t, root, keys)

	// An upload of a landing after b's watch, as a delayed request would: b cannot tell it from one sent while
	// a was still confirmed, so it must hold for a's TTL.
	bumpSeq(t, aDB)
	if err := aRepl.Final(leaseContext(t)); err != nil {
		t.Fatal(err)
	}
	bRepl := takerReplicator(t, root, keys, "b", b, watched)
	inBackground(t, "Keep", func(ctx context.Context) error { return b.Keep(ctx, 0) })
	sent := time.Now()
	if err := bRepl.Final(leaseContext(t)); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitConfirmed(leaseContext(t)); err != nil {
		t.Fatal(err)
	}
	if held := time.Since(sent); held < longTTL+testSkew {
		t.Fatalf("b confirmed %v after its first upload, before the old holder's TTL plus skew (%v)", held,
			longTTL+testSkew)
	}
}

// TestKeepIdleBusyIdle: after a busy period in which uploads confirmed the lease, Keep writes the lease object
// again once uploads stop for half a TTL, and the lease stays confirmed throughout.
func TestKeepIdleBusyIdle(t *testing.T) {
	t.Parallel()
	srv := miniotest.Start(t)
	root := rootClient(t, srv)
	keys := replBucket(t, srv)
	a := startBusyWriter(t, root, keys, "a")
	waitCond(t, "uploads", func() bool { return a.repl.Stats().Uploads >= 3 })
	busy := storedLease(t, root, keys.Bucket)
	// Busy for more than a renewal period: uploads confirm it, the lease object is not written.
	waitCond(t, "a renewal period of uploads", func() bool {
		return time.Since(busy.Renewed) > uploadTTL/2+500*time.Millisecond
	})
	if rec := storedLease(t, root, keys.Bucket); rec.WriteID != busy.WriteID {
		t.Fatalf("the lease object was written while uploads confirmed it: %+v", rec)
	}
	if err := a.bumps.stop(t); err != nil {
		t.Fatal(err)
	}
	if err := a.run.stop(t); err != nil {
		t.Fatal(err)
	}
	idle := time.Now()
	waitCond(t, "a renewal after the uploads stopped", func() bool {
		if !a.lease.Confirmed() {
			t.Fatalf("the lease lapsed %v after the uploads stopped", time.Since(idle))
		}
		return storedLease(t, root, keys.Bucket).WriteID != busy.WriteID
	})
	a.keep.running(t)
	if !a.lease.Confirmed() {
		t.Fatal("not confirmed after the renewal")
	}
}

// TestAcquireWaitsForHolderLongerTTL: a wait planned for our TTL (TTL plus skew plus a poll, as admin commands
// plan it) still takes over a silent holder whose TTL is longer, rather than giving up before it could.
func TestAcquireWaitsForHolderLongerTTL(t *testing.T) {
	t.Parallel()
	srv := miniotest.Start(t)
	root := rootClient(t, srv)
	keys := replBucket(t, srv)
	const longTTL, shortTTL = 3 * time.Second, time.Second
	acquireT(t, ttlLease(root, keys, "a", longTTL), 0, 1) // a crashes at once: no renewal
	b := ttlLease(root, keys, "b", shortTTL)
	start := time.Now()
	acquireT(t, b, shortTTL+testSkew+shortTTL/3, 2)
	if waited := time.Since(start); waited < longTTL+testSkew {
		t.Fatalf("took over after %v, before the holder's TTL plus skew (%v)", waited, longTTL+testSkew)
	}
}

// takerReplicator is the replicator of an instance that took the lease over: a registry of its own at a later
// epoch (4), uploading through client on the latest's ETag it watched (etag).
func takerReplicator(t *testing.T, client *minio.Client, keys snapshot.Keys, writerID string, lease *snapshot.Lease,
	etag string) *snapshot.Replicator {
	t.Helper()
	db := newRegistry(t, 1)
	if err := db.SetEpoch(4); err != nil {
		t.Fatal(err)
	}
	opts := replOptions(t, keys, nil)
	opts.WriterID, opts.Lease, opts.ETag = writerID, lease, etag
	return snapshot.NewReplicator(client, db, opts)
}
