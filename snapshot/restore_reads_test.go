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

// TestRestoreReadsWhatItNeeds (issue 17): a first start looks at each history slot once (one HEAD); a missing
// latest of a registry that had a writer falls back to history.
func TestRestoreReadsWhatItNeeds(t *testing.T) {
	srv, root := restoreEnv(t)

	t.Run("first start: one HEAD per history slot", func(t *testing.T) {
		keys := replBucket(t, srv)
		c, requests := countedClient(t, srv, keys)
		opts := restoreOpts(t, nil)
		opts.Keys, opts.HistorySlots = keys, 8
		res, err := snapshot.Restore(leaseContext(t), c, opts)
		if err != nil || res.From != snapshot.FromNone {
			t.Fatalf("Restore = %+v, %v; want a first start", res, err)
		}
		if n := requests.Count("HEAD", snapshot.KindHistory); n != 8 {
			t.Fatalf("%d history HEADs on a first start, want one per slot (8)", n)
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

// TestRestoreLeaseOffHistoryWithMissingLatest (review of issue 17, finding 4): a registry written with
// --lease=off has history but no lease object; when its latest is lost, the first fenced start creates the lease
// object, and Restore must still find the good history slot rather than start empty.
func TestRestoreLeaseOffHistoryWithMissingLatest(t *testing.T) {
	srv, root := restoreEnv(t)
	keys := replBucket(t, srv)
	db := newRegistry(t, 2)
	body, h := writeT(t, db)
	if _, err := root.PutObject(leaseContext(t), keys.Bucket, keys.History(3), bytes.NewReader(body),
		int64(len(body)), minio.PutObjectOptions{UserMetadata: h.Metadata(), DisableMultipart: true}); err != nil {
		t.Fatal(err)
	}
	l := watchingLease(root, keys, "n")
	acquireT(t, l, 0, 1) // creates the lease object: no instance held it before
	opts := restoreOpts(t, nil)
	opts.Keys, opts.HistorySlots = keys, 8
	res, err := snapshot.Restore(leaseContext(t), root, opts)
	if err != nil || res.From != snapshot.FromHistory || res.Header.Seq != h.Seq {
		t.Fatalf("Restore = from %q seq %d, %v; want the history slot (seq %d)", res.From, res.Header.Seq, err, h.Seq)
	}
}
