package snapshot_test

import (
	"bytes"

	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/flickerlog/flicker/internal/miniotest"
	"github.com/flickerlog/flicker/internal/s3client"
	"github.com/flickerlog/flicker/snapshot"
)

// countedClient is a client of srv built as flicker builds its own, counting its requests by key kind.
func countedClient(t *testing.T, srv *miniotest.Server, keys snapshot.Keys) (*minio.Client, *s3client.Requests) {
	t.Helper()
	access, secret := srv.RootCredentials()
	pathStyle := true
	requests := s3client.NewRequests(keys.Kind)
	c, err := s3client.New(s3client.Config{Endpoint: srv.URL(), Region: miniotest.Region, PathStyle: &pathStyle,
		AccessKey: access, SecretKey: secret, MaxRetries: 1, Requests: requests})
	if err != nil {
		t.Fatal(err)
	}
	return c, requests
}

// TestRestoreReadsWhatItNeeds (issue 17): a first start reads no history slot when no writer ever held the
// lease; a missing latest of a registry that had a writer still falls back to history.
func TestRestoreReadsWhatItNeeds(t *testing.T) {
	srv, root := restoreEnv(t)

	t.Run("first start with no prior writer: one HEAD", func(t *testing.T) {
		keys := replBucket(t, srv)
		c, requests := countedClient(t, srv, keys)
		opts := restoreOpts(t, nil)
		opts.Keys, opts.HistorySlots, opts.NoPriorWriter = keys, snapshot.DefaultHistorySlots, true
		res, err := snapshot.Restore(leaseContext(t), c, opts)
		if err != nil || res.From != snapshot.FromNone {
			t.Fatalf("Restore = %+v, %v; want a first start", res, err)
		}
		if n := requests.Count("HEAD", snapshot.KindHistory); n != 0 {
			t.Fatalf("%d history HEADs on a first start, want none", n)
		}
		if got := requests.Counts(); len(got) != 1 || got[0].N != 1 || got[0].Op != "HEAD" ||
			got[0].KeyKind != snapshot.KindSnapshot {
			t.Fatalf("requests %+v, want one HEAD of the latest", got)
		}
	})

	t.Run("a missing latest of a registry that had a writer falls back to history", func(t *testing.T) {
		keys := replBucket(t, srv)
		db := newRegistry(t, 2)
		body, h := writeT(t, db)
		if _, err := root.PutObject(leaseContext(t), keys.Bucket, keys.History(3), bytes.NewReader(body),
			int64(len(body)), minio.PutObjectOptions{UserMetadata: h.Metadata(), DisableMultipart: true}); err != nil {
			t.Fatal(err)
		}
		c, requests := countedClient(t, srv, keys)
		opts := restoreOpts(t, nil)
		opts.Keys, opts.HistorySlots = keys, 8
		res, err := snapshot.Restore(leaseContext(t), c, opts)
		if err != nil || res.From != snapshot.FromHistory || res.Header.Seq != h.Seq {
			t.Fatalf("Restore = %+v, %v; want the history slot", res, err)
		}
		if n := requests.Count("HEAD", snapshot.KindHistory); n < 8 {
			t.Fatalf("%d history HEADs, want one per slot (8) at least", n)
		}
	})
}

func TestLeaseFirstHolder(t *testing.T) {
	srv := miniotest.Start(t)
	root := rootClient(t, srv)
	keys := replBucket(t, srv)
	a := watchingLease(root, keys, "a")
	acquireT(t, a, 0, 1)
	if !a.FirstHolder() {
		t.Fatal("the instance that created the lease object is not its first holder")
	}
	if err := a.Release(leaseContext(t)); err != nil {
		t.Fatal(err)
	}
	b := watchingLease(root, keys, "b")
	acquireT(t, b, 0, 2)
	if b.FirstHolder() {
		t.Fatal("an instance that took over a released lease says it is the first holder")
	}
}
