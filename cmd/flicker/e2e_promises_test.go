package main_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sinks/http/collecttest"
)

// These tests hold the built binary to promises the README makes and no other test exercised: the Go memory
// limit, /readyz while stopping, and a file deleted while it is still being read.

// TestMemoryLimitApplied: --memory-limit sets the Go runtime's soft limit, read back from /metrics
// (go_gc_gomemlimit_bytes, the runtime's /gc/gomemlimit:bytes): auto is queue.max_bytes plus the 8 MiB headroom
// unless GOMEMLIMIT is set, off leaves no limit, a size is taken as given; a bad value exits 2 naming the flag.
func TestMemoryLimitApplied(t *testing.T) {
	t.Parallel()
	const queueBytes = 20 << 20
	cases := []struct {
		name string
		flag string   // --memory-limit; "" leaves the default (auto)
		env  []string // added to the environment
		want float64
	}{
		{"auto", "", nil, queueBytes + 8<<20},
		{"auto keeps GOMEMLIMIT", "auto", []string{"GOMEMLIMIT=100MiB"}, 100 << 20},
		{"off", "off", nil, math.MaxInt64},
		{"size", "64MiB", nil, 64 << 20},
		{"size over GOMEMLIMIT", "48MiB", []string{"GOMEMLIMIT=100MiB"}, 48 << 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cfg := writeConfig(t, dir, filepath.Join(dir, "*.log"), filepath.Join(dir, "out.ndjson"),
				fmt.Sprintf("queue:\n  max_bytes: %d", queueBytes))
			addr := freeAddr(t)
			args := []string{"-c", cfg, "--http-addr", addr, "--log-format", "json"}
			if c.flag != "" {
				args = append(args, "--memory-limit", c.flag)
			}
			p := startEnv(t, dir, append([]string{"GOMEMLIMIT="}, c.env...), args...)
			var got float64
			waitFor(t, 30*time.Second, "go_gc_gomemlimit_bytes in /metrics", func() bool {
				code, b, err := get("http://" + addr + "/metrics")
				if err != nil || code != 200 {
					return false
				}
				var ok bool
				got, ok = metricValue(b, "go_gc_gomemlimit_bytes")
				return ok
			}, p)
			p.stop()
			if got != c.want {
				t.Fatalf("go_gc_gomemlimit_bytes = %.0f, want %.0f", got, c.want)
			}
		})
	}
	t.Run("bad value", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		cfg := writeConfig(t, dir, filepath.Join(dir, "*.log"), filepath.Join(dir, "out.ndjson"), "")
		for _, bad := range []string{"lots", "-5MiB", "0"} {
			p := start(t, dir, "-c", cfg, "--memory-limit", bad)
			if code := p.wait(30 * time.Second); code != 2 || !strings.Contains(p.logs(), "--memory-limit") {
				t.Fatalf("--memory-limit %s: exit %d, want 2 naming the flag:\n%s", bad, code, p.logs())
			}
		}
	})
}

// TestReadyzWhileStopping: /readyz answers 200 while shipping and 503 from the SIGTERM on, for the whole drain
// (an output that answers 503 keeps it going until the shutdown budget runs out), while /healthz answers 200
// throughout: a load balancer stops sending work, the liveness probe does not kill the draining pod.
func TestReadyzWhileStopping(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	coll := collecttest.Start(t)
	coll.Fail(503)
	cfg := writeOutputsConfig(t, dir, filepath.Join(dir, "*.log"), fmt.Sprintf(`  - type: http
    url: %q
    retry: {initial: 50ms, max: 200ms}
`, coll.URL()), "")
	appendLines(t, filepath.Join(dir, "app.log"), "r", 0, 100)
	addr := freeAddr(t)
	p := start(t, dir, "-c", cfg, "--registry-file", filepath.Join(dir, "reg.db"), "--http-addr", addr,
		"--log-format", "json", "--shutdown-timeout", "5s")
	waitFor(t, 30*time.Second, "/readyz 200 and the output retried", func() bool {
		code, _, err := get("http://" + addr + "/readyz")
		return err == nil && code == 200 && coll.Requests() >= 3
	}, p)
	if code, _, err := get("http://" + addr + "/healthz"); err != nil || code != 200 {
		t.Fatalf("/healthz while shipping: %d %v", code, err)
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the stop to begin", func() bool {
		return strings.Contains(p.logs(), "stopping: draining")
	}, p)
	// From here until the listener closes at exit, every answer is 503 for /readyz and 200 for /healthz.
	notReady := 0
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		code, _, err := get("http://" + addr + "/healthz")
		if err != nil {
			break // the process is exiting
		}
		if code != 200 {
			t.Fatalf("/healthz answered %d while draining, want 200", code)
		}
		code, _, err = get("http://" + addr + "/readyz")
		if err != nil {
			break
		}
		if code != 503 {
			t.Fatalf("/readyz answered %d while draining, want 503; logs:\n%s", code, p.logs())
		}
		notReady++
		time.Sleep(100 * time.Millisecond)
	}
	code := p.wait(time.Minute)
	// The drain lasts most of the 5s budget; a handful of answers shows /readyz was asked while it went on.
	if notReady < 5 {
		t.Fatalf("only %d /readyz answers during the drain (exit %d); logs:\n%s", notReady, code, p.logs())
	}
	if coll.Total() != 0 {
		t.Fatalf("the failing output accepted %d events", coll.Total())
	}
	t.Logf("%d answers of 503 during the drain, exit %d", notReady, code)
}

// TestDeletedWhileReadingReadToEndThenReleased: a large file deleted while flicker is far from its end (a
// blocked output holds the reader at the queue's byte bound) is still read to its end after the deletion, every
// line exactly once, and then its handle is closed: /proc/PID/fd no longer points at it, long before
// close_inactive.
func TestDeletedWhileReadingReadToEndThenReleased(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	coll := collecttest.Start(t)
	coll.Stall()
	logPath := filepath.Join(dir, "app.log")
	const total = 30000 // about 3.4 MB, 6 times the queue's bound
	appendLines(t, logPath, "del", 0, total)
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`log_files:
  - name: app
    paths: [%q]
    scan_interval: 50ms
    close_inactive: 1h
outputs:
  - type: http
    url: %q
batch:
  max_wait: 20ms
  max_events: 2000
  max_bytes: 262144
queue:
  max_bytes: 524288
`, logPath, coll.URL())), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	p := start(t, dir, "-c", cfg, "--registry-file", filepath.Join(dir, "reg.db"), "--log-format", "json",
		"--log-level", "debug", "--http-addr", addr)
	pid := p.cmd.Process.Pid
	size := int64(total) * int64(len(line("del", 0))+1)
	var read float64
	waitFor(t, 30*time.Second, "the output to be called and held", func() bool {
		code, body, err := get("http://" + addr + "/metrics")
		if err != nil || code != 200 || coll.Requests() == 0 {
			return false
		}
		read, _ = labelledMetric(body, "flicker_input_bytes_total", `input="app"`)
		return read > 0 && len(openFDs(t, pid, logPath)) == 1
	}, p)
	if read >= float64(size/2) {
		t.Fatalf("flicker read %.0f of %d bytes with its output blocked: the queue does not hold the reader back", read, size)
	}
	t.Logf("deleted with %.0f of %d bytes read", read, size)
	if err := os.Remove(logPath); err != nil {
		t.Fatal(err)
	}
	// The handle is kept: the rest of the deleted file is only reachable through it.
	if fds := openFDs(t, pid, logPath); len(fds) != 1 || !fds[0].deleted {
		t.Fatalf("after the deletion, with the file unread, flicker holds %+v, want the deleted file open", fds)
	}
	coll.Healthy()
	waitFor(t, 2*time.Minute, "every line of the deleted file, or its handle closed", func() bool {
		return coll.Total() >= total || len(openFDs(t, pid, logPath)) == 0
	}, p)
	// Released before its end, the rest of the file is lost; what was queued arrives within moments.
	waitFor(t, 30*time.Second, "every line of the deleted file", func() bool { return coll.Total() >= total }, p)
	waitFor(t, 30*time.Second, "the deleted file's handle to be closed", func() bool {
		return len(openFDs(t, pid, logPath)) == 0
	}, p)
	p.stop()
	for i := range total {
		if c := coll.Count(line("del", i)); c != 1 {
			t.Fatalf("line %d arrived %d times, want exactly once (%d events in all)", i, c, coll.Total())
		}
	}
	if !strings.Contains(p.logs(), "release deleted file read to its end") {
		t.Fatalf("no release of the deleted file in the logs:\n%s", p.logs())
	}
}

// openFD is an open descriptor of a process and whether its file was deleted.
type openFD struct {
	fd      string
	deleted bool
}

// openFDs lists the process's open descriptors of path, deleted or not.
func openFDs(t *testing.T, pid int, path string) []openFD {
	t.Helper()
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(fdDir)
	if err != nil {
		t.Fatalf("read %s (has flicker exited?): %v", fdDir, err)
	}
	var out []openFD
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(fdDir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if target == path || target == path+" (deleted)" {
			out = append(out, openFD{fd: e.Name(), deleted: target != path})
		}
	}
	return out
}
