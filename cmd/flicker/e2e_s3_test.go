package main_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/internal/miniotest"
	"github.com/flickerlog/flicker/snapshot"
	"github.com/flickerlog/flicker/store"
)

// These tests run the flicker binary in S3 mode against a real MinIO server (internal/miniotest) on 127.0.0.1.

const s3Bucket = "flicker-e2e"

// s3Fixture is a MinIO server with a bucket, a log folder, a file output and a config shipping one into the other.
type s3Fixture struct {
	t        *testing.T
	srv      *miniotest.Server
	client   *minio.Client
	keys     snapshot.Keys
	dir      string
	logPath  string
	outPath  string
	config   string
	env      []string
	registry string
}

func newS3Fixture(t *testing.T) *s3Fixture {
	t.Helper()
	srv := miniotest.Start(t)
	srv.MakeBucket(t, s3Bucket)
	dir := t.TempDir()
	logDir := filepath.Join(dir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.ndjson")
	access, secret := srv.RootCredentials()
	f := &s3Fixture{t: t, srv: srv, client: srv.Client(t), dir: dir,
		keys:    snapshot.Keys{Bucket: s3Bucket, Latest: "flicker/registry.json"},
		logPath: filepath.Join(logDir, "app.log"), outPath: out,
		config: writeConfig(t, dir, filepath.Join(logDir, "*.log"), out, ""),
	}
	f.registry = f.keys.String()
	f.env = []string{"AWS_ENDPOINT_URL=" + srv.URL(), "AWS_REGION=" + miniotest.Region, "AWS_S3_FORCE_PATH_STYLE=true",
		"AWS_ACCESS_KEY_ID=" + access, "AWS_SECRET_ACCESS_KEY=" + secret, "AWS_SESSION_TOKEN=", "AWS_PROFILE=",
		"AWS_ENDPOINT_URL_S3="}
	return f
}

// args is the command line of one instance ("pod") with its own state dir.
func (f *s3Fixture) args(pod string, extra ...string) []string {
	return append([]string{"-c", f.config, "--registry-file", f.registry, "--state-dir", filepath.Join(f.dir, "state-"+pod),
		"--log-format", "json", "--snapshot-interval", "200ms", "--lease-ttl", "2s", "--restore-timeout", "20s"}, extra...)
}

func (f *s3Fixture) run(pod string, extra ...string) *proc {
	f.t.Helper()
	return startEnv(f.t, f.dir, f.env, f.args(pod, extra...)...)
}

// runOnce runs one instance with --once and returns its exit code and logs.
func (f *s3Fixture) runOnce(pod string, extra ...string) (int, string) {
	f.t.Helper()
	p := f.run(pod, append([]string{"--once"}, extra...)...)
	code := p.wait(2 * time.Minute)
	return code, p.logs()
}

func (f *s3Fixture) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	f.t.Cleanup(cancel)
	return ctx
}

// latest downloads the latest snapshot and returns its header and the offset recorded for app.log.
func (f *s3Fixture) latest() (snapshot.Header, int64) {
	f.t.Helper()
	return f.snapshotAt(f.keys.Latest)
}

// snapshotAt downloads the snapshot at key and returns its header and the offset recorded for app.log.
func (f *s3Fixture) snapshotAt(key string) (snapshot.Header, int64) {
	f.t.Helper()
	h, off, err := f.trySnapshotAt(key)
	if err != nil {
		f.t.Fatal(err)
	}
	return h, off
}

// tryLatest is latest for a poll while an instance uploads: the object replaced during the download (412 on a
// read of its next part) is an error to try again after, not a failure.
func (f *s3Fixture) tryLatest() (snapshot.Header, int64, error) {
	return f.trySnapshotAt(f.keys.Latest)
}

// trySnapshotAt is snapshotAt returning its errors.
func (f *s3Fixture) trySnapshotAt(key string) (snapshot.Header, int64, error) {
	path := filepath.Join(f.t.TempDir(), "snapshot.db")
	h, _, err := snapshot.Fetch(f.ctx(), f.client, f.keys.Bucket, key, "", path, nil)
	if err != nil {
		return h, 0, fmt.Errorf("fetch the snapshot %s: %w", key, err)
	}
	db, err := store.Open(path, store.Options{ReadOnly: true}, zerolog.Nop())
	if err != nil {
		return h, 0, err
	}
	defer db.Close()
	files, err := db.AllFiles()
	if err != nil {
		return h, 0, err
	}
	var off int64
	for _, r := range files {
		if r.Path == f.logPath {
			off = max(off, r.Offset)
		}
	}
	return h, off, nil
}

// arrived counts the events of prefix in the output.
func (f *s3Fixture) arrived(prefix string) int {
	return prefixCounts(readOutput(f.t, f.outPath))[prefix]
}

// exactlyOnce checks that lines [0, n) of prefix arrived once each.
func (f *s3Fixture) exactlyOnce(prefix string, n int) {
	f.t.Helper()
	counts := countMessages(readOutput(f.t, f.outPath))
	for i := range n {
		if c := counts[line(prefix, i)]; c != 1 {
			f.t.Fatalf("line %s %d arrived %d times, want exactly once", prefix, i, c)
		}
	}
}

func TestS3RoundTripSIGTERMNothingResent(t *testing.T) {
	f := newS3Fixture(t)
	appendLines(t, f.logPath, "a", 0, 2000)
	p := f.run("pod1")
	waitFor(t, time.Minute, "2000 lines", func() bool { return f.arrived("a") >= 2000 }, p)
	appendLines(t, f.logPath, "a", 2000, 3000)
	waitFor(t, time.Minute, "3000 lines", func() bool { return f.arrived("a") >= 3000 }, p)
	p.stop()
	if !strings.Contains(p.logs(), "final snapshot uploaded") || !strings.Contains(p.logs(), "lease released") {
		t.Fatalf("no final snapshot or lease release in the logs:\n%s", p.logs())
	}
	// A new pod: a fresh state dir, and new lines written while no flicker ran.
	if err := os.RemoveAll(filepath.Join(f.dir, "state-pod1")); err != nil {
		t.Fatal(err)
	}
	appendLines(t, f.logPath, "a", 3000, 4000)
	p2 := f.run("pod2")
	// A wrong re-send starts at an earlier offset of the file, so it arrives before the last line, which was
	// written while no flicker ran: waiting for that line replaces a sleep a loaded machine could outrun.
	waitFor(t, time.Minute, "the last line", func() bool {
		return countMessages(readOutput(t, f.outPath))[line("a", 3999)] > 0
	}, p2)
	p2.stop()
	f.exactlyOnce("a", 4000)
	if !strings.Contains(p2.logs(), `"from":"latest"`) {
		t.Fatalf("the second pod did not restore the latest snapshot:\n%s", p2.logs())
	}
}

func TestS3Kill9NewPodResendsOnlyAfterLastSnapshot(t *testing.T) {
	f := newS3Fixture(t)
	const total = 30000
	lineLen := int64(len(line("k", 0)) + 1)
	var wg sync.WaitGroup
	wg.Add(1)
	writeErr := make(chan error, 1)
	go func() { // a steady writer: 1000 lines every 50ms
		defer wg.Done()
		for i := 0; i < total; i += 1000 {
			if err := writeLines(f.logPath, "k", i, i+1000); err != nil {
				writeErr <- err
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	p := f.run("pod1")
	waitFor(t, time.Minute, "10000 lines before the crash", func() bool { return f.arrived("k") >= 10000 }, p)
	waitFor(t, time.Minute, "a snapshot with progress", func() bool {
		st, err := f.client.StatObject(f.ctx(), f.keys.Bucket, f.keys.Latest, minio.StatObjectOptions{})
		if err != nil {
			return false
		}
		h, err := snapshot.HeaderFromMetadata(st.UserMetadata)
		return err == nil && h.Seq > 3
	}, p)
	p.kill()
	h, snapOffset := f.latest()
	if snapOffset == 0 || h.Seq == 0 {
		t.Fatalf("no snapshot with progress was uploaded before the crash (seq %d, offset %d); logs:\n%s", h.Seq, snapOffset, p.logs())
	}
	wg.Wait()
	select {
	case err := <-writeErr:
		t.Fatal(err)
	default:
	}
	p2 := f.run("pod2") // a new pod: new state dir
	waitFor(t, 2*time.Minute, "every line after the restart", func() bool {
		counts := countMessages(readOutput(t, f.outPath))
		for i := range total {
			if counts[line("k", i)] == 0 {
				return false
			}
		}
		return true
	}, p2)
	p2.stop()
	counts := countMessages(readOutput(t, f.outPath))
	resent := 0
	for i := range total {
		c := counts[line("k", i)]
		if c > 1 {
			resent++
			if off := int64(i) * lineLen; off < snapOffset {
				t.Fatalf("line %d (offset %d) was re-sent although the last snapshot (seq %d) covered offset %d",
					i, off, h.Seq, snapOffset)
			}
		}
	}
	t.Logf("crash at snapshot seq %d offset %d: %d lines re-sent", h.Seq, snapOffset, resent)
}

func TestS3OutageKeepsShippingAndLease(t *testing.T) {
	if testing.Short() {
		t.Skip("30s outage")
	}
	f := newS3Fixture(t)
	appendLines(t, f.logPath, "o", 0, 1000)
	// A TTL longer than the outage: past it the inputs pause (TestS3LeaseCutOffHolderPauses).
	p := f.run("pod1", "--log-level", "debug", "--lease-ttl", "60s")
	waitFor(t, time.Minute, "1000 lines", func() bool { return f.arrived("o") >= 1000 }, p)
	var before snapshot.Header
	waitFor(t, time.Minute, "a read of the latest snapshot while pod1 uploads", func() bool {
		var err error
		before, _, err = f.tryLatest()
		return err == nil
	}, p)

	f.srv.Stop() // S3 unreachable for 30s; shipping must go on
	outageStart := time.Now()
	for i := 1; i <= 6; i++ {
		appendLines(t, f.logPath, "o", i*1000, (i+1)*1000)
		want := (i + 1) * 1000
		waitFor(t, time.Minute, "lines shipped during the outage", func() bool { return f.arrived("o") >= want }, p)
		time.Sleep(time.Until(outageStart.Add(time.Duration(i) * 5 * time.Second)))
	}
	if !strings.Contains(p.logs(), "last_snapshot_age") {
		t.Fatalf("the logs do not say how old the last snapshot is:\n%s", p.logs())
	}
	f.srv.Restart()
	waitFor(t, time.Minute, "a snapshot after the outage", func() bool {
		st, err := f.client.StatObject(f.ctx(), f.keys.Bucket, f.keys.Latest, minio.StatObjectOptions{})
		if err != nil {
			return false
		}
		h, err := snapshot.HeaderFromMetadata(st.UserMetadata)
		return err == nil && h.Seq > before.Seq && h.Epoch == before.Epoch
	}, p)
	appendLines(t, f.logPath, "o", 7000, 8000)
	waitFor(t, time.Minute, "8000 lines", func() bool { return f.arrived("o") >= 8000 }, p)
	p.stop() // exit 0: the lease was kept through the outage
	if strings.Contains(p.logs(), "FENCED") {
		t.Fatalf("the outage cost the lease:\n%s", p.logs())
	}
	code, logs := f.runOnce("pod2")
	if code != 0 {
		t.Fatalf("second pod exit %d:\n%s", code, logs)
	}
	f.exactlyOnce("o", 8000)
}

func TestS3GarbageLatestFallsBackToHistory(t *testing.T) {
	f := newS3Fixture(t)
	appendLines(t, f.logPath, "g", 0, 500)
	if code, logs := f.runOnce("pod1", "--history-interval", "1h"); code != 0 {
		t.Fatalf("exit %d:\n%s", code, logs)
	}
	garbage := []byte("this is not a snapshot\n")
	if _, err := f.client.PutObject(f.ctx(), f.keys.Bucket, f.keys.Latest, strings.NewReader(string(garbage)),
		int64(len(garbage)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	appendLines(t, f.logPath, "g", 500, 1000)
	code, logs := f.runOnce("pod2")
	if code != 0 {
		t.Fatalf("exit %d after the latest was overwritten with garbage:\n%s", code, logs)
	}
	if !strings.Contains(logs, "FALLBACK") || !strings.Contains(logs, `"level":"error"`) {
		t.Fatalf("the fallback was not said loudly:\n%s", logs)
	}
	f.exactlyOnce("g", 1000) // the final snapshot of the first run refreshed its history slot
	if h, _ := f.latest(); h.Seq == 0 {
		t.Fatal("the garbage was not replaced by a good snapshot")
	}
}

func TestS3ForeignObjectIsNeverOverwritten(t *testing.T) {
	f := newS3Fixture(t)
	foreign := `{"some":"other program's registry.json"}`
	if _, err := f.client.PutObject(f.ctx(), f.keys.Bucket, f.keys.Latest, strings.NewReader(foreign),
		int64(len(foreign)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	appendLines(t, f.logPath, "f", 0, 10)
	code, logs := f.runOnce("pod1")
	if code == 0 || !strings.Contains(logs, "not a flicker snapshot") || !strings.Contains(logs, "--force") {
		t.Fatalf("exit %d, want a refusal naming --force:\n%s", code, logs)
	}
	obj, err := f.client.GetObject(f.ctx(), f.keys.Bucket, f.keys.Latest, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	buf := make([]byte, 200)
	n, _ := obj.Read(buf)
	if string(buf[:n]) != foreign {
		t.Fatalf("the foreign object was changed to %q", buf[:n])
	}
	if f.arrived("f") != 0 {
		t.Fatal("lines were shipped although the registry could not be restored")
	}
	if code, logs := f.runOnce("pod2", "--force"); code != 0 {
		t.Fatalf("--force: exit %d:\n%s", code, logs)
	}
	if h, _ := f.latest(); h.Seq == 0 {
		t.Fatal("--force did not replace the foreign object with a snapshot")
	}
}

// TestS3TwoInstancesFencing: a second instance waits one TTL plus the skew margin, then exits 3 naming the holder;
// a standby takes over a killed holder no sooner than that after its last renewal; a stale writer (stopped past the
// TTL while another took over, then stopped before it learned that) exits 3 without uploading anything over the new
// writer's snapshots.
func TestS3TwoInstancesFencing(t *testing.T) {
	t.Parallel()
	f := newS3Fixture(t)
	// Every upload of the latest stays as a version, so the test sees any the stale writer made, even one the new
	// writer replaced afterwards.
	if err := f.client.EnableVersioning(f.ctx(), f.keys.Bucket); err != nil {
		t.Fatal(err)
	}
	appendLines(t, f.logPath, "t", 0, 100)
	a := f.run("a")
	waitFor(t, time.Minute, "100 lines", func() bool { return f.arrived("t") >= 100 }, a)
	minWait := leaseTTL + snapshot.DefaultLeaseSkew // --lease-ttl 2s (f.args) and the margin the lease uses

	// A second instance finds the lease renewed and exits 3 naming the holder, after watching it for one TTL plus
	// the margin (a holder silent that long would have been taken over).
	host, _ := os.Hostname()
	b := f.run("b")
	if code := b.wait(time.Minute); code != 3 {
		t.Fatalf("second instance exit %d, want 3:\n%s", code, b.logs())
	}
	exited := time.Now()
	if !strings.Contains(b.logs(), "lease held by writer") || !strings.Contains(b.logs(), host) {
		t.Fatalf("the error does not name the holder:\n%s", b.logs())
	}
	watched := exited.Sub(logTime(t, b, "lease held, watching it"))
	if watched < minWait || watched > minWait+30*time.Second {
		t.Fatalf("the second instance watched the lease for %s before exiting 3, want at least %s (TTL + margin) and "+
			"at most 30s more", watched, minWait)
	}
	t.Logf("the second instance watched the lease for %s before exiting 3 (TTL + margin: %s)", watched, minWait)

	// A standby takes over when the holder dies. While it waits it is alive but not ready. It talks to S3 through a
	// proxy that can hold its lease requests, and uploads only its first and its final snapshot, so it always has
	// something to upload when it stops.
	proxy := miniotest.NewHTTPProxy(t, f.srv)
	addr := freeAddr(t)
	c := f.runWith(f.config, withEnv(f.env, "AWS_ENDPOINT_URL="+proxy.URL()), "c", "--standby", "--http-addr", addr,
		"--snapshot-interval", "1h", "--shutdown-timeout", "5s")
	waitFor(t, time.Minute, "the standby's /healthz", func() bool {
		code, _, err := get("http://" + addr + "/healthz")
		return err == nil && code == 200
	}, c)
	if code, _, err := get("http://" + addr + "/readyz"); err != nil || code != 503 {
		t.Fatalf("standby /readyz = %d %v, want 503 while waiting for the lease", code, err)
	}
	a.kill()
	last := f.leaseRecord() // a's last renewal: c may take over TTL + margin after it, not sooner
	if aw := writerOf(t, a); last.WriterID != aw || last.Released {
		t.Fatalf("lease after killing its holder %s: %+v", aw, last)
	}
	appendLines(t, f.logPath, "t", 100, 200)
	waitFor(t, time.Minute, "the standby to ship", func() bool { return f.arrived("t") >= 200 }, c)
	silent := logTime(t, c, "took over a silent lease").Sub(last.Renewed)
	if silent < minWait {
		t.Fatalf("the standby took over %s after the holder's last renewal, want at least %s (TTL + margin)", silent, minWait)
	}
	t.Logf("the standby took over %s after the holder's last renewal (TTL + margin: %s)", silent, minWait)
	if code, _, err := get("http://" + addr + "/readyz"); err != nil || code != 200 {
		t.Fatalf("/readyz after the takeover = %d %v, want 200", code, err)
	}

	// A stale writer: c is stopped past the TTL while lines keep coming, and d takes over. c resumes, but cannot
	// learn from its lease that it lost it (its lease requests are held), and is stopped: its final upload must be
	// refused (the new writer's snapshot is there), and it exits 3 having uploaded nothing.
	w := startLineWriter(t, f.logPath, "w", 10*time.Millisecond)
	waitFor(t, time.Minute, "c to ship the writer's lines", func() bool { return f.arrived("w") >= 20 }, c)
	if err := c.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	d := f.run("d")
	appendLines(t, f.logPath, "t", 200, 300)
	waitFor(t, time.Minute, "the new writer to ship", func() bool { return f.arrived("t") >= 300 }, d)
	dWriter, dEpoch := writerOf(t, d), epochOf(t, d)
	var before snapshot.Header
	waitFor(t, time.Minute, "a snapshot by the new writer", func() bool {
		var err error
		before, _, err = f.tryLatest()
		return err == nil && before.WriterID == dWriter && before.Epoch == dEpoch
	}, d)
	proxy.Hold(func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, ".lease") })
	if err := c.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "c to renew its lease (held)", func() bool { return proxy.Held() > 0 }, c)
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := c.wait(time.Minute)
	proxy.Release()
	var after snapshot.Header
	waitFor(t, time.Minute, "a read of the latest snapshot while the new writer uploads", func() bool {
		var err error
		after, _, err = f.tryLatest()
		return err == nil
	}, d)
	if after.WriterID != dWriter || after.Epoch != dEpoch || after.Seq < before.Seq {
		t.Fatalf("after the stale writer exited the latest snapshot is writer %s epoch %d seq %d; want the new writer's "+
			"(%s, epoch %d, seq %d or more)", after.WriterID, after.Epoch, after.Seq, dWriter, dEpoch, before.Seq)
	}
	f.onlyWriterSince(dWriter, writerOf(t, c))
	if code != 3 {
		t.Fatalf("stale writer exit %d, want 3:\n%s", code, c.logs())
	}
	if !strings.Contains(c.logs(), "fenced: another instance wrote the registry snapshot") || !strings.Contains(c.logs(), dWriter) {
		t.Fatalf("the stale writer did not say which writer fenced it:\n%s", c.logs())
	}
	written := w.halt(t)
	waitFor(t, time.Minute, "the new writer to ship every line", func() bool {
		ns := w.numbers(t, f.outPath)
		return len(ns) > 0 && slices.Max(ns) == written-1
	}, d)
	d.stop()
	f.onlyWriterSince(dWriter, writerOf(t, c)) // d's final snapshot too
	noneLost(t, w, written, f.outPath)
	counts := countMessages(readOutput(t, f.outPath))
	for i := range 300 {
		if counts[line("t", i)] == 0 {
			t.Fatalf("line %d lost", i)
		}
	}
}

func TestS3RestrictedCredentials(t *testing.T) {
	f := newS3Fixture(t)
	access, secret, token := f.srv.RestrictedCredentials(t, f.keys.Bucket, f.keys.Latest)
	f.env = append(f.env, "AWS_ACCESS_KEY_ID="+access, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_SESSION_TOKEN="+token)
	appendLines(t, f.logPath, "r", 0, 300)
	if code, logs := f.runOnce("pod1"); code != 0 {
		t.Fatalf("first start with Get/Put-only credentials: exit %d:\n%s", code, logs)
	}
	appendLines(t, f.logPath, "r", 300, 600)
	code, logs := f.runOnce("pod2")
	if code != 0 {
		t.Fatalf("second start: exit %d:\n%s", code, logs)
	}
	if !strings.Contains(logs, `"from":"latest"`) {
		t.Fatalf("the second start did not restore:\n%s", logs)
	}
	f.exactlyOnce("r", 600)
}

// TestS3MigrationByCopy: `aws s3 cp` of the latest object to another bucket is a complete backup; flicker starts
// on the copy and re-sends nothing. Both a server-side copy (metadata kept) and a download-upload (metadata lost).
func TestS3MigrationByCopy(t *testing.T) {
	f := newS3Fixture(t)
	appendLines(t, f.logPath, "m", 0, 500)
	if code, logs := f.runOnce("pod1"); code != 0 {
		t.Fatalf("exit %d:\n%s", code, logs)
	}
	f.srv.MakeBucket(t, "other")
	src := minio.CopySrcOptions{Bucket: s3Bucket, Object: f.keys.Latest}
	if _, err := f.client.CopyObject(f.ctx(), minio.CopyDestOptions{Bucket: "other", Object: "moved/registry.json"}, src); err != nil {
		t.Fatal(err)
	}
	obj, err := f.client.GetObject(f.ctx(), s3Bucket, f.keys.Latest, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := obj.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.PutObject(f.ctx(), "other", "plain/registry.json", obj, st.Size, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	obj.Close()
	appendLines(t, f.logPath, "m", 500, 600)
	f.registry = "s3://other/moved/registry.json"
	if code, logs := f.runOnce("pod2"); code != 0 || !strings.Contains(logs, `"from":"latest"`) {
		t.Fatalf("start on the server-side copy: exit %d:\n%s", code, logs)
	}
	f.exactlyOnce("m", 600)
	appendLines(t, f.logPath, "m", 600, 700)
	f.registry = "s3://other/plain/registry.json"
	// This copy holds the state of pod1 (500 lines): lines 500-699 are shipped from it, 500-599 for the second time.
	if code, logs := f.runOnce("pod3"); code != 0 || !strings.Contains(logs, `"from":"latest"`) {
		t.Fatalf("start on a copy without metadata: exit %d:\n%s", code, logs)
	}
	counts := countMessages(readOutput(t, f.outPath))
	for i := range 700 {
		want := 1
		if i >= 500 && i < 600 {
			want = 2
		}
		if counts[line("m", i)] != want {
			t.Fatalf("line %d arrived %d times, want %d", i, counts[line("m", i)], want)
		}
	}
}

// TestS3UnreachableAtStartup: no answer from S3 is retried for --restore-timeout, then exit 1 with a message
// naming the setting to check.
func TestS3UnreachableAtStartup(t *testing.T) {
	f := newS3Fixture(t)
	f.srv.Stop()
	start := time.Now()
	code, logs := f.runOnce("pod1", "--restore-timeout", "2s")
	if code != 1 || !strings.Contains(logs, "--restore-timeout") || !strings.Contains(logs, "AWS_ENDPOINT_URL") {
		t.Fatalf("exit %d, want 1 naming --restore-timeout and AWS_ENDPOINT_URL:\n%s", code, logs)
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Fatalf("gave up after %s, before --restore-timeout", took)
	}
}

// TestS3LeaseOff: --lease=off runs without a lease object and still snapshots (the mode for stores that ignore
// conditional writes).
func TestS3LeaseOff(t *testing.T) {
	f := newS3Fixture(t)
	appendLines(t, f.logPath, "n", 0, 200)
	code, logs := f.runOnce("pod1", "--lease", "off")
	if code != 0 || !strings.Contains(logs, "--lease=off") {
		t.Fatalf("exit %d:\n%s", code, logs)
	}
	if _, err := f.client.StatObject(f.ctx(), s3Bucket, f.keys.Lease(), minio.StatObjectOptions{}); err == nil {
		t.Fatal("--lease=off wrote a lease object")
	}
	if _, off := f.latest(); off != int64(200*(len(line("n", 0))+1)) {
		t.Fatalf("snapshot offset %d after --lease=off", off)
	}
}

// TestS3Metrics: /metrics reports snapshot uploads, age and the lease in S3 mode. Each metric must be present
// with its value: the seq of the snapshot uploaded is the one in S3, and an age is a fresh one.
func TestS3Metrics(t *testing.T) {
	f := newS3Fixture(t)
	appendLines(t, f.logPath, "x", 0, 50)
	addr := freeAddr(t)
	p := f.run("pod1", "--http-addr", addr)
	waitFor(t, time.Minute, "50 lines", func() bool { return f.arrived("x") >= 50 }, p)
	var problem string
	diagnose = func() string { return problem }
	defer func() { diagnose = func() string { return "" } }()
	waitFor(t, time.Minute, "snapshot and lease metrics", func() bool {
		code, body, err := get("http://" + addr + "/metrics")
		if err != nil || code != 200 {
			problem = fmt.Sprintf("/metrics: %d %v", code, err)
			return false
		}
		v := func(name string) float64 {
			x, ok := metricValue(body, name)
			if !ok {
				return math.NaN() // absent: no comparison holds
			}
			return x
		}
		seq := f.latestSeq()
		uploads, snapSeq, age := v("flicker_snapshot_uploads_total"), v("flicker_snapshot_seq"),
			v("flicker_snapshot_last_success_age_seconds")
		problem = fmt.Sprintf("uploads %v, snapshot seq %v (S3 has %d), age %v, lease held %v, fenced %v",
			uploads, snapSeq, seq, age, v("flicker_lease_held"), v("flicker_fenced"))
		return uploads >= 1 && seq > 0 && snapSeq == float64(seq) && age >= 0 && age < 30 &&
			v("flicker_lease_held") == 1 && v("flicker_fenced") == 0
	}, p)
	p.stop()
}

// TestS3ErrorsAUserMeets: a missing bucket and wrong credentials end the start with exit 1 and a message that
// names what to fix.
func TestS3ErrorsAUserMeets(t *testing.T) {
	f := newS3Fixture(t)
	f.registry = "s3://no-such-bucket/flicker/registry.json"
	code, logs := f.runOnce("pod1")
	if code != 1 || !strings.Contains(logs, "no-such-bucket") || !strings.Contains(logs, "bucket") {
		t.Fatalf("missing bucket: exit %d:\n%s", code, logs)
	}
	t.Logf("missing bucket: %s", lastLine(logs))
	f.registry = f.keys.String()
	f.env = append(f.env, "AWS_SECRET_ACCESS_KEY=wrong-secret")
	code, logs = f.runOnce("pod2")
	if code != 1 || !strings.Contains(logs, "AWS_SECRET_ACCESS_KEY") && !strings.Contains(logs, "signature") {
		t.Fatalf("wrong secret: exit %d:\n%s", code, logs)
	}
	t.Logf("wrong secret: %s", lastLine(logs))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
