package main_test

import (
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/flickerlog/flicker/internal/miniotest"
	"github.com/flickerlog/flicker/snapshot"
)

// TestS3StaleIdleWriterLearnsAtRelease: a holder stopped past the TTL with nothing left to upload, taken over, then
// stopped (SIGTERM) before a renewal could tell it (its lease requests are held) learns it was fenced only when it
// releases the lease: it exits 3, not 0, and uploads nothing.
func TestS3StaleIdleWriterLearnsAtRelease(t *testing.T) {
	t.Parallel()
	f := newS3Fixture(t)
	if err := f.client.EnableVersioning(f.ctx(), f.keys.Bucket); err != nil {
		t.Fatal(err)
	}
	proxy := miniotest.NewHTTPProxy(t, f.srv)
	appendLines(t, f.logPath, "i", 0, 100)
	a := f.runWith(f.config, withEnv(f.env, "AWS_ENDPOINT_URL="+proxy.URL()), "a")
	waitFor(t, time.Minute, "a's snapshot of every line", func() bool {
		_, off, err := f.tryLatest()
		return err == nil && off == 100*int64(len(line("i", 0))+1)
	}, a)
	if err := a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	b := f.run("b")
	bWriter := ""
	waitFor(t, time.Minute, "b to take over and upload", func() bool {
		if bWriter == "" && logEntry(t, b.stderr.String(), "S3 registry ready") != nil {
			bWriter = writerOf(t, b)
		}
		h, _, err := f.tryLatest()
		return err == nil && bWriter != "" && h.WriterID == bWriter
	}, b)

	proxy.Hold(func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, ".lease") })
	if err := a.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "a to renew its lease (held)", func() bool { return proxy.Held() > 0 }, a)
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// a logs this after it stopped its lease keeper (whose held renewal it abandons) and before it releases the
	// lease: from now on only the release can tell it.
	waitFor(t, time.Minute, "a's final snapshot step", func() bool { return strings.Contains(a.logs(), "final snapshot") }, a)
	proxy.Release()
	code := a.wait(time.Minute)
	b.stop()
	f.onlyWriterSince(bWriter, writerOf(t, a))
	if code != 3 || !strings.Contains(a.logs(), "FENCED") {
		t.Fatalf("a stale writer that learned at release it was taken over: exit %d, want 3 saying FENCED:\n%s", code, a.logs())
	}
}

// onlyWriterSince checks that every version of the latest snapshot from the first one by writer on is by writer:
// stale (another writer id, here the stale instance's) never uploaded over it. The bucket must be versioned.
func (f *s3Fixture) onlyWriterSince(writer, stale string) {
	f.t.Helper()
	type version struct {
		id       string
		modified time.Time
	}
	var versions []version
	for obj := range f.client.ListObjects(f.ctx(), f.keys.Bucket, minio.ListObjectsOptions{Prefix: f.keys.Latest, WithVersions: true}) {
		if obj.Err != nil {
			f.t.Fatal(obj.Err)
		}
		if obj.Key == f.keys.Latest && !obj.IsDeleteMarker {
			versions = append(versions, version{obj.VersionID, obj.LastModified})
		}
	}
	slices.SortStableFunc(versions, func(a, b version) int { return a.modified.Compare(b.modified) })
	seen := false
	for _, v := range versions {
		st, err := f.client.StatObject(f.ctx(), f.keys.Bucket, f.keys.Latest, minio.StatObjectOptions{VersionID: v.id})
		if err != nil {
			f.t.Fatalf("version %s of the latest snapshot: %v", v.id, err)
		}
		h, err := snapshot.HeaderFromMetadata(st.UserMetadata)
		if err != nil {
			f.t.Fatalf("version %s of the latest snapshot: %v", v.id, err)
		}
		switch {
		case h.WriterID == writer:
			seen = true
		case seen:
			f.t.Fatalf("writer %s uploaded epoch %d seq %d at %s over the snapshots of writer %s (the stale writer is %s)",
				h.WriterID, h.Epoch, h.Seq, v.modified.Format(time.RFC3339Nano), writer, stale)
		}
	}
	if !seen {
		f.t.Fatalf("no version of the latest snapshot (of %d) is by writer %s", len(versions), writer)
	}
}

// readyEntry is the "S3 registry ready" log line of p.
func readyEntry(t *testing.T, p *proc) map[string]any {
	t.Helper()
	e := logEntry(t, p.stderr.String(), "S3 registry ready")
	if e == nil {
		t.Fatalf("no \"S3 registry ready\" in the logs:\n%s", p.logs())
	}
	return e
}

// writerOf is the writer id of the instance p.
func writerOf(t *testing.T, p *proc) string {
	t.Helper()
	w, _ := readyEntry(t, p)["writer"].(string)
	return w
}

// epochOf is the epoch p runs at.
func epochOf(t *testing.T, p *proc) uint64 {
	t.Helper()
	e, _ := readyEntry(t, p)["epoch"].(float64)
	return uint64(e)
}

// logTime is when p logged the first line whose message contains msg (the child's clock: this machine's).
func logTime(t *testing.T, p *proc, msg string) time.Time {
	t.Helper()
	e := logEntry(t, p.stderr.String(), msg)
	if e == nil {
		t.Fatalf("no %q in the logs:\n%s", msg, p.logs())
	}
	ts, _ := e["time"].(string)
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		t.Fatalf("time of %q: %v", msg, err)
	}
	return at
}
