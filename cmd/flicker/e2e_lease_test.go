package main_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/flickerlog/flicker/internal/miniotest"
)

// These tests check the lease rule of DESIGN.md section 7 through the binary: a holder whose last confirmed
// renewal is older than the TTL publishes nothing more, so an instance that took over is the only one shipping.

// leaseTTL is the TTL of the instances in these tests; the takeover comes DefaultLeaseSkew (2s) after it.
const leaseTTL = 2 * time.Second

// lineWriter appends numbered lines to a log file at a steady pace, remembering when each write began.
type lineWriter struct {
	path, prefix string
	stop, done   chan struct{}

	mu    sync.Mutex
	began []time.Time // began[n]: just before line n was written
	err   error
}

func startLineWriter(t *testing.T, path, prefix string, every time.Duration) *lineWriter {
	w := &lineWriter{path: path, prefix: prefix, stop: make(chan struct{}), done: make(chan struct{})}
	go w.run(every)
	t.Cleanup(func() { w.halt(t) })
	return w
}

func (w *lineWriter) run(every time.Duration) {
	defer close(w.done)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for n := 0; ; n++ {
		w.mu.Lock()
		w.began = append(w.began, time.Now())
		w.mu.Unlock()
		if err := writeLines(w.path, w.prefix, n, n+1); err != nil {
			w.mu.Lock()
			w.err = err
			w.mu.Unlock()
			return
		}
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
	}
}

// halt stops the writer and returns how many lines it wrote. Safe to call more than once.
func (w *lineWriter) halt(t *testing.T) int {
	t.Helper()
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		t.Fatalf("write %s: %v", w.path, w.err)
	}
	return len(w.began)
}

// numbers are the line numbers of the writer's lines in the file output at path, in arrival order.
func (w *lineWriter) numbers(t *testing.T, path string) []int {
	var out []int
	for _, ev := range readOutput(t, path) {
		var n int
		if _, err := fmt.Sscanf(ev.Message, w.prefix+" %d", &n); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// after are the numbers among ns of lines whose write began after at.
func (w *lineWriter) after(ns []int, at time.Time) []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []int
	for _, n := range ns {
		if n < len(w.began) && w.began[n].After(at) {
			out = append(out, n)
		}
	}
	return out
}

// runWith runs one instance like f.run, with its own config and environment.
func (f *s3Fixture) runWith(config string, env []string, pod string, extra ...string) *proc {
	f.t.Helper()
	args := f.args(pod, extra...)
	args[1] = config // f.args begins with "-c", f.config
	return startEnv(f.t, f.dir, env, args...)
}

// secondOutput writes a config shipping the fixture's logs to their own file output, for a second instance.
func (f *s3Fixture) secondOutput(name string) (config, out string) {
	f.t.Helper()
	dir := filepath.Join(f.dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.t.Fatal(err)
	}
	out = filepath.Join(dir, "out.ndjson")
	return writeConfig(f.t, dir, filepath.Join(filepath.Dir(f.logPath), "*.log"), out, ""), out
}

// withEnv is env with the variables in set replacing those of the same name.
func withEnv(env []string, set ...string) []string {
	out := append([]string(nil), env...)
	for _, kv := range set {
		name, _, _ := strings.Cut(kv, "=")
		for i := range out {
			if strings.HasPrefix(out[i], name+"=") {
				out[i] = kv
			}
		}
	}
	return out
}

// noneLost checks that every line [0, written) arrived in one of the outputs.
func noneLost(t *testing.T, w *lineWriter, written int, outs ...string) {
	t.Helper()
	seen := map[int]bool{}
	for _, out := range outs {
		for _, n := range w.numbers(t, out) {
			seen[n] = true
		}
	}
	for n := range written {
		if !seen[n] {
			t.Fatalf("line %d of %d arrived nowhere", n, written)
		}
	}
}

// TestS3LeaseCutOffHolderPauses: a holder cut off from S3 (a stalled network) stops publishing one TTL after
// its last confirmed renewal; the standby that takes over ships what is written from then on; when S3 answers
// again the old holder finds it was taken over and exits 3, having shipped none of it.
func TestS3LeaseCutOffHolderPauses(t *testing.T) {
	t.Parallel()
	f := newS3Fixture(t)
	proxy := miniotest.NewProxy(t, f.srv.Endpoint())
	configB, outB := f.secondOutput("b")
	w := startLineWriter(t, f.logPath, "c", 10*time.Millisecond)

	a := f.runWith(f.config, withEnv(f.env, "AWS_ENDPOINT_URL="+proxy.URL()), "a", "--lease-ttl", leaseTTL.String())
	waitFor(t, time.Minute, "a to ship", func() bool { return outputLines(t, f.outPath) >= 20 }, a)
	b := f.runWith(configB, f.env, "b", "--lease-ttl", leaseTTL.String(), "--standby")
	waitFor(t, time.Minute, "b to watch the lease", func() bool { return strings.Contains(b.logs(), "watching it") }, b)

	f.pauseBetweenRequests(proxy.Pause, proxy.Resume, f.shipped)
	lapsed := time.Now().Add(leaseTTL) // a's last confirmed renewal was sent before the cut-off
	waitFor(t, time.Minute, "b to take over and ship lines written after a's lease lapsed", func() bool {
		return len(w.after(w.numbers(t, outB), lapsed)) >= 50
	}, b)
	select {
	case <-a.done:
		t.Fatalf("a exited while cut off from S3; it should wait for an answer:\n%s", a.logs())
	default:
	}
	if late := w.after(w.numbers(t, f.outPath), lapsed); len(late) > 0 {
		t.Fatalf("a shipped %d lines written after its lease lapsed (first: %d), while b shipped them:\n%s",
			len(late), late[0], a.logs())
	}
	if !strings.Contains(a.logs(), "PAUSED") {
		t.Fatalf("a did not say it paused:\n%s", a.logs())
	}

	proxy.Resume()
	finishTakeover(t, f, w, a, b, outB, lapsed, "after its lease lapsed, once S3 answered again")
}

// TestS3LeaseStoppedHolderShipsNothingAfterSIGCONT: a holder stopped (SIGSTOP) past the TTL is taken over; when it
// resumes its monotonic clock says its last renewal is older than the TTL, so it publishes nothing, even while S3
// is slow to refuse its renewal (its path to S3 is stalled for a moment after SIGCONT), and exits 3.
func TestS3LeaseStoppedHolderShipsNothingAfterSIGCONT(t *testing.T) {
	t.Parallel()
	f := newS3Fixture(t)
	proxy := miniotest.NewProxy(t, f.srv.Endpoint())
	configB, outB := f.secondOutput("b")
	w := startLineWriter(t, f.logPath, "s", 10*time.Millisecond)

	a := f.runWith(f.config, withEnv(f.env, "AWS_ENDPOINT_URL="+proxy.URL()), "a", "--lease-ttl", leaseTTL.String())
	waitFor(t, time.Minute, "a to ship", func() bool { return outputLines(t, f.outPath) >= 20 }, a)
	b := f.runWith(configB, f.env, "b", "--lease-ttl", leaseTTL.String(), "--standby")
	waitFor(t, time.Minute, "b to watch the lease", func() bool { return strings.Contains(b.logs(), "watching it") }, b)

	signal := func(sig syscall.Signal) {
		if err := a.cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
	}
	f.pauseBetweenRequests(func() {
		signal(syscall.SIGSTOP)
		waitFor(t, 10*time.Second, "a to stop", func() bool { return processState(t, a.cmd.Process.Pid) == "T" }, a)
	}, func() { signal(syscall.SIGCONT) }, f.shipped)
	stopped := time.Now()
	waitFor(t, time.Minute, "b to take over and ship lines written while a was stopped", func() bool {
		return len(w.after(w.numbers(t, outB), stopped)) >= 100
	}, b)

	proxy.Pause() // a cannot learn yet that it was taken over
	signal(syscall.SIGCONT)
	waitFor(t, time.Minute, "a to pause (or to ship lines written while it was stopped)", func() bool {
		return strings.Contains(a.logs(), "PAUSED") || len(w.after(w.numbers(t, f.outPath), stopped)) > 0
	}, a)
	if late := w.after(w.numbers(t, f.outPath), stopped); len(late) > 0 {
		t.Fatalf("a shipped %d lines written while it was stopped (first: %d) after SIGCONT, while b shipped them:\n%s",
			len(late), late[0], a.logs())
	}
	proxy.Resume()
	finishTakeover(t, f, w, a, b, outB, stopped, "while it was stopped, after SIGCONT")
}

// finishTakeover checks the end of a takeover of holder a by b, once a can reach S3 again: a exits 3 (taken
// over) without having shipped any line written since (what: when that was), then, the writer halted, b ships
// every line and none is lost across both outputs.
func finishTakeover(t *testing.T, f *s3Fixture, w *lineWriter, a, b *proc, outB string, since time.Time, what string) {
	t.Helper()
	if code := a.wait(time.Minute); code != 3 {
		t.Fatalf("a exit %d %s, want 3 (taken over):\n%s", code, what, a.logs())
	}
	if late := w.after(w.numbers(t, f.outPath), since); len(late) > 0 {
		t.Fatalf("a shipped %d lines written %s (first: %d):\n%s", len(late), what, late[0], a.logs())
	}
	written := w.halt(t)
	waitFor(t, time.Minute, "b to ship every line", func() bool {
		ns := w.numbers(t, outB)
		return len(ns) > 0 && slices.Max(ns) == written-1
	}, b)
	b.stop()
	noneLost(t, w, written, f.outPath, outB)
}

// pauseBetweenRequests cuts the holder off with pause, and tries again (resume, wait until progress says the
// holder did more work, pause) while the cut left one of its conditional PUTs half-sent: MinIO locks the object of
// such a PUT until the request times out, stalling every read of it (AWS S3 does not), so no other instance could
// take over within the test. progress is a token that changes as the holder works.
func (f *s3Fixture) pauseBetweenRequests(pause, resume func(), progress func() string) {
	f.t.Helper()
	for attempt := 1; ; attempt++ {
		pause()
		if f.answers(f.keys.Latest) && f.answers(f.keys.Lease()) {
			return
		}
		resume()
		if attempt == 10 {
			f.t.Fatalf("every cut-off left a request half-sent")
		}
		before := progress()
		waitFor(f.t, time.Minute, "the holder to work again", func() bool { return progress() != before }, nil)
	}
}

// shipped is a progress token for pauseBetweenRequests: the lines in the fixture's output.
func (f *s3Fixture) shipped() string { return strconv.Itoa(outputLines(f.t, f.outPath)) }

// answers reports whether MinIO answers a HEAD of key within a second, whatever the answer.
func (f *s3Fixture) answers(key string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := f.client.StatObject(ctx, f.keys.Bucket, key, minio.StatObjectOptions{})
	return err == nil || ctx.Err() == nil
}

// processState is the state letter in /proc/PID/stat ("T" when stopped).
func processState(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// pid (comm) state ...: comm may hold spaces, so look after its closing parenthesis.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) == 0 {
		t.Fatalf("/proc/%d/stat: %q", pid, s)
	}
	return fields[0]
}

// TestS3LeaseCutOffHolderResumes: a holder cut off from S3 past the TTL, with no other instance about, pauses, and
// resumes once a renewal goes through: nothing is lost, and it stops cleanly.
func TestS3LeaseCutOffHolderResumes(t *testing.T) {
	t.Parallel()
	f := newS3Fixture(t)
	proxy := miniotest.NewProxy(t, f.srv.Endpoint())
	w := startLineWriter(t, f.logPath, "r", 10*time.Millisecond)
	a := f.runWith(f.config, withEnv(f.env, "AWS_ENDPOINT_URL="+proxy.URL()), "a", "--lease-ttl", leaseTTL.String())
	waitFor(t, time.Minute, "a to ship", func() bool { return outputLines(t, f.outPath) >= 20 }, a)

	f.pauseBetweenRequests(proxy.Pause, proxy.Resume, f.shipped)
	lapsed := time.Now().Add(leaseTTL)
	waitFor(t, time.Minute, "a to pause (or to ship lines written after its lease lapsed)", func() bool {
		return strings.Contains(a.logs(), "PAUSED") || len(w.after(w.numbers(t, f.outPath), lapsed)) > 0
	}, a)
	if late := w.after(w.numbers(t, f.outPath), lapsed); len(late) > 0 {
		t.Fatalf("a shipped %d lines written after its lease lapsed (first: %d):\n%s", len(late), late[0], a.logs())
	}
	proxy.Resume()
	waitFor(t, time.Minute, "a to resume", func() bool { return strings.Contains(a.logs(), "publishing resumed") }, a)
	written := w.halt(t)
	waitFor(t, time.Minute, "a to ship every line", func() bool {
		ns := w.numbers(t, f.outPath)
		return len(ns) > 0 && slices.Max(ns) == written-1
	}, a)
	a.stop()
	noneLost(t, w, written, f.outPath)
}
