package main_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/internal/miniotest"
	"github.com/flickerlog/flicker/snapshot"
)

// These tests hold an admin command's lease longer than the TTL (registry import reading a slow stdin) while
// another instance tries to take it over: the command renews it, and fails with exit 3 when it lost it anyway.

// importFixture is a registry whose latest snapshot (offset newOffset) is newer than the export JSON export (offset
// oldOffset): importing it is a visible change.
type importFixture struct {
	*s3Fixture
	export               []byte
	oldOffset, newOffset int64
}

func newImportFixture(t *testing.T) *importFixture {
	f := &importFixture{s3Fixture: newS3Fixture(t)}
	appendLines(t, f.logPath, "i", 0, 100)
	if code, logs := f.runOnce("pod1"); code != 0 {
		t.Fatalf("first run: exit %d:\n%s", code, logs)
	}
	_, f.oldOffset = f.latest()
	code, out := f.flickerStdout("registry", "export", "--registry-file", f.registry)
	if code != 0 {
		t.Fatalf("registry export: exit %d:\n%s", code, out)
	}
	f.export = out
	appendLines(t, f.logPath, "i", 100, 200)
	if code, logs := f.runOnce("pod1"); code != 0 {
		t.Fatalf("second run: exit %d:\n%s", code, logs)
	}
	if _, f.newOffset = f.latest(); f.newOffset <= f.oldOffset {
		t.Fatalf("offsets %d then %d: the second run moved nothing", f.oldOffset, f.newOffset)
	}
	return f
}

// flickerStdout runs a short command and returns its exit code and stdout alone.
func (f *importFixture) flickerStdout(args ...string) (int, []byte) {
	f.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = f.dir
	cmd.Env = append(cmd.Environ(), f.env...)
	out, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		f.t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out
}

// slowImport starts `registry import -` with env, reading the export from a stdin the test writes when it wants.
type slowImport struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *lockedWriter
	done  chan struct{}
}

func (f *importFixture) startSlowImport(env []string) *slowImport {
	f.t.Helper()
	cmd := exec.Command(binary, "registry", "import", "--registry-file", f.registry, "--lease-ttl", leaseTTL.String(),
		"--log-format", "json", "-")
	cmd.Dir = f.dir
	cmd.Env = append(cmd.Environ(), env...)
	s := &slowImport{cmd: cmd, out: &lockedWriter{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	var err error
	if s.stdin, err = cmd.StdinPipe(); err != nil {
		f.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait()
		close(s.done)
	}()
	f.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.done
	})
	return s
}

// finish writes the export, closes stdin and returns the exit code.
func (s *slowImport) finish(t *testing.T, export []byte) int {
	t.Helper()
	_, _ = s.stdin.Write(export) // a command that already failed has closed the pipe
	_ = s.stdin.Close()
	select {
	case <-s.done:
	case <-time.After(time.Minute):
		t.Fatalf("registry import did not finish:\n%s", s.out.String())
	}
	return s.cmd.ProcessState.ExitCode()
}

// leaseHolder is the writer id in the lease object, "" while there is none or it is released.
func (f *importFixture) leaseHolder() string {
	rec := f.leaseRecord()
	if rec.Released {
		return ""
	}
	return rec.WriterID
}

// leaseWrite is a progress token for pauseBetweenRequests: the write id of the lease object, new at each renewal.
func (f *importFixture) leaseWrite() string { return f.leaseRecord().WriteID }

// leaseRecord is the lease object's record, zero while there is none.
func (f *s3Fixture) leaseRecord() snapshot.LeaseRecord {
	f.t.Helper()
	obj, err := f.client.GetObject(f.ctx(), f.keys.Bucket, f.keys.Lease(), minio.GetObjectOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if minio.ToErrorResponse(err).Code == "NoSuchKey" {
		return snapshot.LeaseRecord{}
	}
	if err != nil {
		f.t.Fatal(err)
	}
	var rec snapshot.LeaseRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		f.t.Fatalf("lease object %q: %v", b, err)
	}
	return rec
}

// starter is an instance starting on the registry, as `flicker run` does: it takes over a lease left silent for
// the TTL plus the skew margin.
func (f *importFixture) starter() *snapshot.Lease {
	return snapshot.NewLease(f.client, snapshot.LeaseOptions{Bucket: f.keys.Bucket, Key: f.keys.Lease(),
		WriterID: "starter", Hostname: "starter-host", TTL: leaseTTL, Logger: zerolog.Nop()})
}

// TestS3ImportLongerThanTheTTLKeepsItsLease: an import that waits on its input for longer than the TTL renews
// its lease, so a starting instance cannot take over (and later overwrite the import); the import succeeds.
func TestS3ImportLongerThanTheTTLKeepsItsLease(t *testing.T) {
	t.Parallel()
	f := newImportFixture(t)
	imp := f.startSlowImport(f.env)
	waitFor(t, time.Minute, "the import to take the lease", func() bool {
		return strings.HasPrefix(f.leaseHolder(), "registry-")
	}, nil)

	// Long enough to take over a holder that does not renew (TTL + skew + a poll and more).
	_, err := f.starter().Acquire(f.ctx(), leaseTTL+snapshot.DefaultLeaseSkew+2*time.Second)
	if !errors.Is(err, snapshot.ErrLeaseHeld) {
		t.Fatalf("a starting instance's Acquire while the import waits = %v, want ErrLeaseHeld (the import "+
			"renews):\n%s", err, imp.out.String())
	}
	if code := imp.finish(t, f.export); code != 0 || !strings.Contains(imp.out.String(), "imported into") {
		t.Fatalf("registry import: exit %d, want 0:\n%s", code, imp.out.String())
	}
	if _, off := f.latest(); off != f.oldOffset {
		t.Fatalf("latest offset %d after the import, want the imported %d", off, f.oldOffset)
	}
	if holder := f.leaseHolder(); holder != "" {
		t.Fatalf("lease still held by %s after the import", holder)
	}
}

// TestS3ImportThatLostItsLeaseFails: an import cut off from S3 for longer than the TTL is taken over by a
// starting instance; when S3 answers again it must not upload its change (the new holder would overwrite it as a
// superseded writer's) nor report success: exit 3, and the latest snapshot is untouched.
func TestS3ImportThatLostItsLeaseFails(t *testing.T) {
	t.Parallel()
	f := newImportFixture(t)
	before, err := f.client.StatObject(f.ctx(), f.keys.Bucket, f.keys.Latest, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	proxy := miniotest.NewProxy(t, f.srv.Endpoint())
	imp := f.startSlowImport(withEnv(f.env, "AWS_ENDPOINT_URL="+proxy.URL()))
	waitFor(t, time.Minute, "the import to take the lease", func() bool {
		return strings.HasPrefix(f.leaseHolder(), "registry-")
	}, nil)

	f.pauseBetweenRequests(proxy.Pause, proxy.Resume, f.leaseWrite)
	if _, err := f.starter().Acquire(f.ctx(), time.Minute); err != nil {
		t.Fatalf("a starting instance could not take over the cut-off import's lease: %v", err)
	}
	proxy.Resume()
	code := imp.finish(t, f.export)
	if code != 3 || !strings.Contains(imp.out.String(), "took over") {
		t.Fatalf("registry import that lost its lease: exit %d, want 3 saying another instance took over:\n%s",
			code, imp.out.String())
	}
	after, err := f.client.StatObject(f.ctx(), f.keys.Bucket, f.keys.Latest, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.ETag != before.ETag {
		t.Fatalf("the import uploaded its change after losing the lease (ETag %s, was %s)", after.ETag, before.ETag)
	}
	if holder := f.leaseHolder(); holder != "starter" {
		t.Fatalf("lease holder %q after the failed import, want the starter", holder)
	}
}
