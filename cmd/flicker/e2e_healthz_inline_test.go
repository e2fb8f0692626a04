package main_test

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConfigInline: a sidecar passes its configuration inline, in FLICKER_CONFIG or --config-inline; its errors
// name the line as a file's would, and a valid one ships.
func TestConfigInline(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := "outputs:\n  - type: stdout\n    name: out\n    colour: red\n"
	cmd := exec.Command(binary, "validate")
	cmd.Env = append(os.Environ(), "FLICKER_CONFIG="+bad)
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(out), `inline config:4:5: outputs[0]: unknown key "colour"`) {
		t.Fatalf("validate with a bad FLICKER_CONFIG: exit %d (%v), want 2 and the key's line:\n%s", code, err, out)
	}

	for _, sub := range []string{"run", "validate"} {
		help, _ := exec.Command(binary, sub, "--help").CombinedOutput()
		if !strings.Contains(string(help), "--config-inline=YAML") || !strings.Contains(string(help), "$FLICKER_CONFIG") {
			t.Fatalf("flicker %s --help does not explain --config-inline and FLICKER_CONFIG:\n%s", sub, help)
		}
	}

	shipped := filepath.Join(dir, "out.jsonl")
	appendLines(t, filepath.Join(dir, "app.log"), "inline", 0, 20)
	cfg := fmt.Sprintf("log_files:\n  - name: app\n    paths: [%q]\noutputs:\n  - type: file\n    name: out\n    path: %q\n",
		filepath.Join(dir, "*.log"), shipped)
	p := start(t, dir, "--config-inline", cfg, "--once")
	if code := p.wait(time.Minute); code != 0 {
		t.Fatalf("run --config-inline --once: exit %d; logs:\n%s", code, p.logs())
	}
	if got := len(readOutput(t, shipped)); got != 20 {
		t.Fatalf("shipped %d lines, want 20", got)
	}
}

// TestHealthzOutputDown: an output that refuses every connection for many times the stall bound leaves /healthz
// at 200 (restarting would not bring it back), while its failed attempts grow.
func TestHealthzOutputDown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	closed := freeAddr(t) // nothing listens there
	appendLines(t, filepath.Join(dir, "app.log"), "down", 0, 50)
	cfg := filepath.Join(dir, "config.yaml")
	writeFileHelm(t, cfg, fmt.Sprintf(`log_files:
  - name: app
    paths: [%q]
    scan_interval: 50ms
outputs:
  - type: http
    name: down
    url: "http://%s/"
    timeout: 1s
    retry: {initial: 50ms, max: 100ms}
batch:
  max_wait: 20ms
`, filepath.Join(dir, "*.log"), closed))
	addr := freeAddr(t)
	// The bound is 300ms plus retry.max 100ms; the loop below watches for 10 times that.
	p := start(t, dir, "-c", cfg, "--http-addr", addr, "--stall-timeout", "300ms")
	var first time.Time
	waitFor(t, 30*time.Second, "/healthz at 200 through 4s of failed writes", func() bool {
		code, body, err := get("http://" + addr + "/healthz")
		if err == nil && code != 200 {
			t.Fatalf("/healthz answered %d %q while only the output was down", code, body)
		}
		_, metrics, _ := get("http://" + addr + "/metrics")
		if first.IsZero() && strings.Contains(metrics, `flicker_output_write_errors_total{output="down"} `) &&
			!strings.Contains(metrics, `flicker_output_write_errors_total{output="down"} 0`) {
			first = time.Now()
		}
		return !first.IsZero() && time.Since(first) > 4*time.Second
	}, p)
	p.stop()
}

// TestHealthzWedged: a stdout output whose reader stopped reading blocks in write(2), which no timeout ends: with
// events queued and nothing moving, /healthz turns 503 after the bound, and 200 again once the pipe drains.
func TestHealthzWedged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// Far more than a pipe's 64 KiB buffer.
	appendLines(t, filepath.Join(dir, "app.log"), "wedge", 0, 5000)
	cfg := filepath.Join(dir, "config.yaml")
	writeFileHelm(t, cfg, fmt.Sprintf(`log_files:
  - name: app
    paths: [%q]
    scan_interval: 50ms
outputs:
  - type: stdout
    name: out
    retry: {initial: 50ms, max: 100ms}
batch:
  max_wait: 20ms
`, filepath.Join(dir, "*.log")))
	addr := freeAddr(t)
	p := startStdout(t, dir, w, nil, "-c", cfg, "--http-addr", addr, "--stall-timeout", "300ms")
	w.Close() // the child holds its own copy
	var body string
	waitFor(t, 30*time.Second, "/healthz 503 while stdout is not read", func() bool {
		code, b, err := get("http://" + addr + "/healthz")
		body = b
		return err == nil && code == 503
	}, p)
	if !strings.Contains(body, "wedged") {
		t.Fatalf("/healthz 503 body %q does not say why", body)
	}
	_, _, _ = get("http://" + addr + "/healthz") // one more 503, not logged again
	if strings.Count(p.logs(), "pipeline wedged") != 1 {
		t.Fatalf("the wedge is not logged exactly once; logs:\n%s", p.logs())
	}
	go func() { _, _ = io.Copy(io.Discard, r) }()
	waitFor(t, 30*time.Second, "/healthz 200 once stdout drains", func() bool {
		code, _, err := get("http://" + addr + "/healthz")
		return err == nil && code == 200
	}, p)
	p.stop()
}

func writeFileHelm(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
