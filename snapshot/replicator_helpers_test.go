package snapshot_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/internal/miniotest"
	"github.com/flickerlog/flicker/internal/syncbuf"
	"github.com/flickerlog/flicker/snapshot"
	"github.com/flickerlog/flicker/store"
)

// Helpers of the replicator tests (and the restore tests' log sink).

var replBuckets atomic.Int64

// replBucket makes a fresh bucket and returns the registry's keys in it.
func replBucket(t *testing.T, srv *miniotest.Server) snapshot.Keys {
	t.Helper()
	name := fmt.Sprintf("repl-%d", replBuckets.Add(1))
	srv.MakeBucket(t, name)
	return snapshot.Keys{Bucket: name, Latest: replKey}
}

// replOptions are short-interval options for writer w-1 without history; logs go to logs when not nil.
func replOptions(t *testing.T, keys snapshot.Keys, logs *lockedLog) snapshot.ReplicatorOptions {
	logger := zerolog.Nop()
	if logs != nil {
		logger = zerolog.New(logs).Level(zerolog.DebugLevel)
	}
	return snapshot.ReplicatorOptions{Keys: keys, Interval: replInterval, HistorySlots: -1,
		MaxBackoff: 100 * time.Millisecond, UploadTimeout: 10 * time.Second, TmpDir: t.TempDir(),
		WriterID: "w-1", Hostname: "pod-a", Fenced: true, Logger: logger}
}

// lockedLog is a log sink the replicator's goroutine and the test can share.
type lockedLog = syncbuf.Buffer

// background is a Run or Keep in its own goroutine, stopped when the test ends.
type background struct {
	what   string
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

func inBackground(t *testing.T, what string, fn func(context.Context) error) *background {
	ctx, cancel := context.WithCancel(context.Background())
	run := &background{what: what, cancel: cancel, done: make(chan error, 1)}
	go func() { run.done <- fn(ctx) }()
	t.Cleanup(func() { run.stop(t) })
	return run
}

func startReplicator(t *testing.T, r *snapshot.Replicator) *background {
	return inBackground(t, "Run", r.Run)
}

// stop cancels the goroutine's context and returns what it returned.
func (run *background) stop(t *testing.T) error {
	t.Helper()
	run.cancel()
	return run.wait(t)
}

// wait returns what it returned, failing the test if it does not return within a bounded time.
func (run *background) wait(t *testing.T) error {
	t.Helper()
	run.once.Do(func() {
		select {
		case run.err = <-run.done:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s did not return", run.what)
		}
	})
	return run.err
}

// running fails the test if it has returned.
func (run *background) running(t *testing.T) {
	t.Helper()
	select {
	case err := <-run.done:
		run.once.Do(func() { run.err = err })
		t.Fatalf("%s returned %v", run.what, err)
	default:
	}
}

// waitCond polls cond until it holds, failing the test after a generous bound.
func waitCond(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// bumpSeq commits one more record and returns the registry's new seq.
func bumpSeq(t *testing.T, db *store.DB) uint64 {
	t.Helper()
	db.PutFile(fileRecord(int(db.Meta().Seq) + 100000))
	flushT(t, db)
	return db.Meta().Seq
}

// readStored GETs the snapshot at key, verifies it with Read and checks that its metadata says the same.
func readStored(t *testing.T, c *minio.Client, bucket, key string) (snapshot.Header, minio.ObjectInfo) {
	t.Helper()
	obj, err := c.GetObject(leaseContext(t), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	st, err := obj.Stat()
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	h, err := snapshot.Read(obj, filepath.Join(t.TempDir(), "restored.db"))
	if err != nil {
		t.Fatalf("%s is not a valid snapshot: %v", key, err)
	}
	mh, err := snapshot.HeaderFromMetadata(st.UserMetadata)
	if err != nil {
		t.Fatalf("%s metadata: %v", key, err)
	}
	if !sameHeader(mh, h) {
		t.Fatalf("%s metadata %+v, object header %+v", key, mh, h)
	}
	return h, st
}

// storedMeta is the header in the metadata of the object at key, from a HEAD: unlike a GET, it cannot be
// interrupted by the replicator overwriting the object.
func storedMeta(t *testing.T, c *minio.Client, bucket, key string) snapshot.Header {
	t.Helper()
	st, err := c.StatObject(leaseContext(t), bucket, key, minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("stat %s: %v", key, err)
	}
	h, err := snapshot.HeaderFromMetadata(st.UserMetadata)
	if err != nil {
		t.Fatalf("%s metadata: %v", key, err)
	}
	return h
}

func sameHeader(a, b snapshot.Header) bool {
	if !a.Created.Equal(b.Created) {
		return false
	}
	a.Created = b.Created
	return a == b
}

func objectMissing(t *testing.T, c *minio.Client, bucket, key string) bool {
	t.Helper()
	_, err := c.StatObject(leaseContext(t), bucket, key, minio.StatObjectOptions{})
	if err == nil {
		return false
	}
	if minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Fatalf("stat %s: %v", key, err)
	}
	return true
}

// intrude uploads, with a plain PUT, a snapshot of another registry written by writer "intruder".
func intrude(t *testing.T, c *minio.Client, keys snapshot.Keys) snapshot.Header {
	t.Helper()
	var body bytes.Buffer
	h, err := snapshot.Write(&body, newRegistry(t, 1),
		snapshot.HeaderInfo{WriterID: "intruder", Hostname: "pod-x"}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(leaseContext(t), keys.Bucket, keys.Latest, &body, int64(body.Len()),
		minio.PutObjectOptions{UserMetadata: h.Metadata(), DisableMultipart: true}); err != nil {
		t.Fatal(err)
	}
	return h
}

// wantFenced checks that err is ErrFenced naming the intruder.
func wantFenced(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, snapshot.ErrFenced) {
		t.Fatalf("err = %v, want ErrFenced", err)
	}
	for _, s := range []string{"intruder", "pod-x", replKey} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
}
