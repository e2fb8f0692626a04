package main_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/internal/miniotest"
	"github.com/flickerlog/flicker/sinks/http/collecttest"
	"github.com/flickerlog/flicker/snapshot"
	"github.com/flickerlog/flicker/store"
)

// These tests send signals to the flicker binary: SIGHUP, SIGUSR1 and a broken stdout pipe must not stop it, and a
// SIGTERM with outputs down must end the process within --shutdown-timeout, its final steps included.

// exitAllowance is how far past --shutdown-timeout the exit may come: the time for the kernel to deliver the
// signal and for this process to see the exit, on a loaded 2-core machine running the race-enabled binary.
// Measured here: 2.03 s after SIGTERM for a 3 s budget in S3 mode with the output down (the drain ends at 2 s),
// 2.51-2.52 s with S3 hanging (the close ends at 2.5 s, the exit margin after it), 2.57 s in local mode.
const exitAllowance = 300 * time.Millisecond

// noExitSleep turns off the race detector's sleep of one second at exit while goroutines remain (GORACE
// atexit_sleep_ms, default 1000): a release build does not have it, and it alone would overrun a budget that
// the stop kept.
func noExitSleep(env []string) []string {
	return append(env, "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
}

// startWithStdout is startEnv with the child's stdout going to stdout instead of this process's, and without
// the race detector's exit sleep (noExitSleep).
func startWithStdout(t *testing.T, dir string, stdout io.Writer, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), noExitSleep(env)...)
	p := &proc{t: t, cmd: cmd, stderr: &lockedWriter{}, done: make(chan error, 1)}
	cmd.Stderr, cmd.Stdout = p.stderr, stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start flicker: %v", err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() { checkLogKeys(t, p.stderr.String()) }) // runs after the one below
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// running fails the test at once if the process has exited.
func (p *proc) running() {
	p.t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		p.t.Fatalf("flicker exited (%v); logs:\n%s", err, p.logs())
	default:
	}
}

// signal sends sig, failing the test if that is impossible.
func (p *proc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("send %s: %v", sig, err)
	}
}

// stopWithin sends SIGTERM and returns the exit code and how long the process took to exit; it fails the test
// (killing the process) when that is later than budget plus exitAllowance, and when the signal watchdog had to
// end a stop that did not finish by itself.
func (p *proc) stopWithin(budget time.Duration) (int, time.Duration) {
	p.t.Helper()
	start := time.Now()
	p.signal(syscall.SIGTERM)
	limit := budget + exitAllowance
	select {
	case <-p.done:
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("flicker still ran %s after SIGTERM with --shutdown-timeout %s; logs:\n%s", limit, budget, p.logs())
	}
	elapsed := time.Since(start)
	if strings.Contains(p.logs(), "shutdown budget spent before the stop finished") {
		p.t.Fatalf("the watchdog ended the stop after %s: a step overran its share of the budget; logs:\n%s",
			elapsed, p.logs())
	}
	return p.cmd.ProcessState.ExitCode(), elapsed
}

// readLines counts the lines read from r until it has n, then returns.
func readLines(r io.Reader, n int) <-chan int {
	got := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		count := 0
		for count < n && sc.Scan() {
			count++
		}
		got <- count
	}()
	return got
}

// committed opens the registry at path after flicker exited, checks it (bbolt Tx.Check) and returns its seq and
// the offset committed for logPath.
func committed(t *testing.T, path, logPath string) (uint64, int64) {
	t.Helper()
	db, err := store.Open(path, store.Options{ReadOnly: true}, zerolog.Nop())
	if err != nil {
		t.Fatalf("open the registry: %v", err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Fatalf("registry inconsistent: %v", err)
	}
	files, err := db.AllFiles()
	if err != nil {
		t.Fatal(err)
	}
	var off int64
	for _, r := range files {
		if r.Path == logPath {
			off = max(off, r.Offset)
		}
	}
	return db.Meta().Seq, off
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestSIGHUPAndSIGUSR1KeepShipping: SIGHUP (Go's default: exit 129, no drain) is logged and flicker goes on
// shipping; SIGUSR1 does nothing; a SIGTERM afterwards stops cleanly with every line delivered once.
func TestSIGHUPAndSIGUSR1KeepShipping(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	app, out := filepath.Join(dir, "app.log"), filepath.Join(dir, "out.ndjson")
	cfg := writeConfig(t, dir, filepath.Join(dir, "*.log"), out, "")
	appendLines(t, app, "a", 0, 100)
	p := start(t, dir, "-c", cfg, "--registry-file", filepath.Join(dir, "reg.db"), "--log-format", "json")
	waitFor(t, time.Minute, "100 lines", func() bool { return outputLines(t, out) >= 100 }, p)

	p.signal(syscall.SIGUSR1)
	p.signal(syscall.SIGHUP)
	waitFor(t, 20*time.Second, "the SIGHUP log line", func() bool {
		p.running()
		return strings.Contains(p.logs(), "SIGHUP ignored: reloading the configuration is not supported")
	}, p)
	appendLines(t, app, "b", 0, 100)
	waitFor(t, time.Minute, "lines written after SIGHUP", func() bool {
		p.running()
		return outputLines(t, out) >= 200
	}, p)
	p.stop()
	assertExactlyOnce(t, countMessages(readOutput(t, out)), append(lines("a", 0, 100), lines("b", 0, 100)...))
}

// TestSIGPIPEOnStdoutIsAnOutputError: the stdout output's reader exits (`flicker | head`). Go's default ends the
// process with SIGPIPE (exit 141) at the next write; flicker must instead report the broken pipe, keep shipping to
// the other output, and on SIGTERM stop within its budget, having committed what every output accepted.
func TestSIGPIPEOnStdoutIsAnOutputError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	coll := collecttest.Start(t)
	app, reg := filepath.Join(dir, "app.log"), filepath.Join(dir, "reg.db")
	cfg := writeOutputsConfig(t, dir, filepath.Join(dir, "*.log"), fmt.Sprintf(`  - type: stdout
    retry: {initial: 50ms, max: 200ms}
  - type: http
    url: %q
`, coll.URL()), "")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	appendLines(t, app, "a", 0, 100)
	acceptedByAll := fileSize(t, app)
	const budget = 2 * time.Second
	p := startWithStdout(t, dir, w, nil, "-c", cfg, "--registry-file", reg, "--log-format", "json",
		"--shutdown-timeout", budget.String())
	w.Close() // the child has its own copy
	select {
	case n := <-readLines(r, 100):
		if n != 100 {
			t.Fatalf("stdout gave %d lines, want 100; logs:\n%s", n, p.logs())
		}
	case <-time.After(time.Minute):
		t.Fatalf("no 100 lines on stdout; logs:\n%s", p.logs())
	}
	r.Close() // the reader exits: the next write to stdout is EPIPE
	waitFor(t, time.Minute, "100 lines at the HTTP output", func() bool { return coll.Total() >= 100 }, p)

	appendLines(t, app, "b", 0, 100)
	waitFor(t, time.Minute, "the broken pipe reported and 200 lines at the HTTP output", func() bool {
		p.running()
		return strings.Contains(p.logs(), "stdout is a broken pipe") && coll.Total() >= 200
	}, p)
	code, elapsed := p.stopWithin(budget)
	if code != 0 {
		t.Fatalf("exit %d after SIGTERM (%s), want 0; logs:\n%s", code, elapsed, p.logs())
	}
	if _, off := committed(t, reg, app); off != acceptedByAll {
		t.Fatalf("committed offset %d, want %d: the end of what both outputs accepted", off, acceptedByAll)
	}
	t.Logf("exit %s after SIGTERM, budget %s", elapsed, budget)
}

// TestShutdownBudgetOutputsDownLocal: an HTTP output whose server hangs and a stdout nobody reads any more (its
// write blocks in the kernel, where no context reaches). SIGTERM must still end the process within
// --shutdown-timeout, with the positions of what both outputs accepted committed.
func TestShutdownBudgetOutputsDownLocal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	coll := collecttest.Start(t)
	app, reg := filepath.Join(dir, "app.log"), filepath.Join(dir, "reg.db")
	cfg := writeOutputsConfig(t, dir, filepath.Join(dir, "*.log"), fmt.Sprintf(`  - type: stdout
  - type: http
    url: %q
`, coll.URL()), "")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close() // open until the end: the child's writes block instead of failing
	appendLines(t, app, "a", 0, 100)
	acceptedByAll := fileSize(t, app)
	const budget = 3 * time.Second
	p := startWithStdout(t, dir, w, nil, "-c", cfg, "--registry-file", reg, "--log-format", "json",
		"--shutdown-timeout", budget.String())
	w.Close()
	select {
	case n := <-readLines(r, 100):
		if n != 100 {
			t.Fatalf("stdout gave %d lines, want 100; logs:\n%s", n, p.logs())
		}
	case <-time.After(time.Minute):
		t.Fatalf("no 100 lines on stdout; logs:\n%s", p.logs())
	}
	waitFor(t, time.Minute, "100 lines at the HTTP output", func() bool { return coll.Total() >= 100 }, p)

	// Both outputs down: the server hangs, and stdout is no longer read, so a batch of 2000 lines (far more than
	// a pipe buffer) blocks its write.
	coll.Stall()
	before := coll.Requests()
	appendLines(t, app, "b", 0, 3000)
	waitFor(t, time.Minute, "a request of the new lines", func() bool { return coll.Requests() > before }, p)
	code, elapsed := p.stopWithin(budget)
	if code != 1 {
		t.Fatalf("exit %d after SIGTERM (%s), want 1 (stdout could not be closed); logs:\n%s", code, elapsed, p.logs())
	}
	if _, off := committed(t, reg, app); off != acceptedByAll {
		t.Fatalf("committed offset %d, want %d: the end of what both outputs accepted", off, acceptedByAll)
	}
	t.Logf("exit %s after SIGTERM, budget %s", elapsed, budget)
}

// TestShutdownBudgetOutputDownS3: SIGTERM with the HTTP output's server hanging, in S3 mode. The drain spends its
// part of the budget; the commit, the final snapshot (the only upload after start: --snapshot-interval 1h) and
// the lease release must still fit in --shutdown-timeout.
func TestShutdownBudgetOutputDownS3(t *testing.T) {
	t.Parallel()
	f := newS3Fixture(t)
	coll := collecttest.Start(t)
	cfg := writeOutputsConfig(t, f.dir, filepath.Join(filepath.Dir(f.logPath), "*.log"), fmt.Sprintf(`  - type: http
    url: %q
`, coll.URL()), "")
	appendLines(t, f.logPath, "a", 0, 200)
	accepted := fileSize(t, f.logPath)
	const budget = 3 * time.Second
	state := filepath.Join(f.dir, "state")
	p := startEnv(t, f.dir, noExitSleep(f.env), "-c", cfg, "--registry-file", f.registry, "--state-dir", state,
		"--log-format", "json", "--snapshot-interval", "1h", "--lease-ttl", "5s", "--restore-timeout", "20s",
		"--shutdown-timeout", budget.String())
	waitFor(t, time.Minute, "200 lines at the HTTP output", func() bool { return coll.Total() >= 200 }, p)

	coll.Stall()
	before := coll.Requests()
	appendLines(t, f.logPath, "b", 0, 500)
	waitFor(t, time.Minute, "a request of the new lines", func() bool { return coll.Requests() > before }, p)
	code, elapsed := p.stopWithin(budget)
	if code != 0 {
		t.Fatalf("exit %d after SIGTERM (%s), want 0; logs:\n%s", code, elapsed, p.logs())
	}

	h, off := f.latest()
	if off != accepted {
		t.Fatalf("the latest snapshot has offset %d, want %d (what the output accepted); logs:\n%s", off, accepted, p.logs())
	}
	states, err := filepath.Glob(filepath.Join(state, "*.db"))
	if err != nil || len(states) != 1 {
		t.Fatalf("state files %v (%v), want one", states, err)
	}
	if seq, _ := committed(t, states[0], f.logPath); h.Seq != seq {
		t.Fatalf("the latest snapshot has seq %d, the final registry %d: the final snapshot is missing", h.Seq, seq)
	}
	obj, err := f.client.GetObject(f.ctx(), f.keys.Bucket, f.keys.Lease(), minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	var lease snapshot.LeaseRecord
	if err := json.NewDecoder(obj).Decode(&lease); err != nil {
		t.Fatalf("read the lease: %v", err)
	}
	if !lease.Released {
		t.Fatalf("lease not released after SIGTERM: %+v; logs:\n%s", lease, p.logs())
	}
	t.Logf("exit %s after SIGTERM, budget %s", elapsed, budget)
}

// TestSecondSignalExitsAtOnce: a second SIGTERM during a drain that would take a minute exits at once, with the
// registry consistent and never past what the outputs accepted.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	coll := collecttest.Start(t)
	app, reg := filepath.Join(dir, "app.log"), filepath.Join(dir, "reg.db")
	cfg := writeOutputsConfig(t, dir, filepath.Join(dir, "*.log"), fmt.Sprintf(`  - type: http
    url: %q
`, coll.URL()), "")
	appendLines(t, app, "a", 0, 100)
	accepted := fileSize(t, app)
	p := startEnv(t, dir, noExitSleep(nil), "-c", cfg, "--registry-file", reg, "--log-format", "json", "--shutdown-timeout", "60s")
	waitFor(t, time.Minute, "100 lines at the HTTP output", func() bool { return coll.Total() >= 100 }, p)
	coll.Stall()
	before := coll.Requests()
	appendLines(t, app, "b", 0, 100)
	waitFor(t, time.Minute, "a request of the new lines", func() bool { return coll.Requests() > before }, p)

	p.signal(syscall.SIGTERM)
	waitFor(t, 20*time.Second, "the drain", func() bool { return strings.Contains(p.logs(), "stopping: draining") }, p)
	code, elapsed := p.stopWithin(time.Second) // the second signal: at once, not after the 60 s drain
	if code != 1 || !strings.Contains(p.logs(), "second signal: exiting now") {
		t.Fatalf("exit %d %s after the second signal, want 1 at once; logs:\n%s", code, elapsed, p.logs())
	}
	if _, off := committed(t, reg, app); off > accepted {
		t.Fatalf("committed offset %d past %d, the end of what the output accepted", off, accepted)
	}
}

// TestShutdownBudgetS3Hangs: the outputs are healthy but S3 stops answering (a hung network path) just before
// SIGTERM. The final snapshot and the lease release wait on S3 only until their share of the budget ends: the
// process exits 1 (no final snapshot) within --shutdown-timeout, by itself.
func TestShutdownBudgetS3Hangs(t *testing.T) {
	t.Parallel()
	f := newS3Fixture(t)
	proxy := miniotest.NewProxy(t, f.srv.Endpoint())
	env := noExitSleep(append(f.env, "AWS_ENDPOINT_URL="+proxy.URL()))
	appendLines(t, f.logPath, "a", 0, 200)
	const budget = 3 * time.Second
	p := startEnv(t, f.dir, env, append(f.args("pod1"), "--shutdown-timeout", budget.String())...)
	waitFor(t, time.Minute, "200 lines", func() bool { return f.arrived("a") >= 200 }, p)

	proxy.Pause()
	defer proxy.Resume()
	code, elapsed := p.stopWithin(budget)
	if code != 1 || !strings.Contains(p.logs(), "final snapshot") {
		t.Fatalf("exit %d after SIGTERM (%s) with S3 hanging, want 1 naming the final snapshot; logs:\n%s",
			code, elapsed, p.logs())
	}
	t.Logf("exit %s after SIGTERM, budget %s", elapsed, budget)
}
