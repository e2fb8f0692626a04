package main_test

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Writing safely through the binary (README: output settings, mode): a dead-letter file holds rejected events, so
// it is created private (0600 in a 0700 directory by default), and a symbolic link planted at its path stops
// flicker at startup instead of making it append to the link's target.

// writeDeadLetterConfig writes a config whose only output, an HTTP collector that answers 400 to everything,
// sends every event of dir/app.log to a dead-letter file at deadPath.
func writeDeadLetterConfig(t *testing.T, dir, deadPath string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "bad event", http.StatusBadRequest)
	}))
	t.Cleanup(srv.Close)
	appendLines(t, filepath.Join(dir, "app.log"), "audit", 0, 3)
	return writeOutputsConfig(t, dir, filepath.Join(dir, "*.log"), fmt.Sprintf(`  - type: http
    name: collector
    url: %q
    retry: {initial: 10ms, max: 100ms}
    dead_letter: {path: %q}
`, srv.URL, deadPath), "")
}

func TestDeadLetterFilePrivate(t *testing.T) {
	t.Parallel()
	t.Run("created 0600 in a 0700 directory", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		deadPath := filepath.Join(dir, "rejected", "audit", "dead.ndjson")
		cfg := writeDeadLetterConfig(t, dir, deadPath)
		p := start(t, dir, "-c", cfg, "--log-format", "json")
		waitFor(t, 30*time.Second, "3 rejected events in the dead letter", func() bool {
			return outputLines(t, deadPath) == 3
		}, p)
		p.stop()
		for path, want := range map[string]os.FileMode{deadPath: 0o600, filepath.Dir(deadPath): 0o700,
			filepath.Join(dir, "rejected"): 0o700} {
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := info.Mode().Perm(); got != want {
				t.Errorf("%s: mode %#o, want %#o", path, got, want)
			}
		}
	})
	t.Run("a link at the path is refused", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		deadPath := filepath.Join(dir, "dead.ndjson")
		target := filepath.Join(t.TempDir(), "shadow")
		if err := os.WriteFile(target, []byte("root:x:0:0\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, deadPath); err != nil {
			t.Fatal(err)
		}
		cfg := writeDeadLetterConfig(t, dir, deadPath)
		p := start(t, dir, "-c", cfg, "--log-format", "json")
		if code := p.wait(30 * time.Second); code != 2 {
			t.Fatalf("exit code %d, want 2 (outputs that cannot be built are a setup error); logs:\n%s", code,
				p.logs())
		}
		logs := p.stderr.String()
		for _, want := range []string{"collector", "dead_letter", deadPath + " is a symbolic link"} {
			if !strings.Contains(logs, want) {
				t.Errorf("logs lack %q:\n%s", want, logs)
			}
		}
		if data, err := os.ReadFile(target); err != nil || string(data) != "root:x:0:0\n" {
			t.Fatalf("the link's target holds %q (%v), want it untouched", data, err)
		}
	})
}

// TestOutputReadByInputRefused: a file output inside an input's glob, reached through a directory link with
// relative paths, and a dead letter inside it are refused by `flicker validate` and by `flicker -c` alike (exit 2),
// each at its line, naming the output, its path, the input and its glob. The run creates no file.
func TestOutputReadByInputRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "data", "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "data", "logs"), filepath.Join(dir, "var-log")); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(`log_files:
  - name: app
    paths: ["var-log/*.log"]
outputs:
  - type: file
    name: archive
    path: data/logs/archive.log
  - type: discard
    dead_letter: {path: var-log/dead.log}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`config.yaml:7:5: outputs[0].path: output "archive" writes data/logs/archive.log, which input "app" reads as ` +
			filepath.Join(dir, "var-log", "archive.log") + ` (log_files[0].paths[0] "var-log/*.log")`,
		`config.yaml:9:19: outputs[1].dead_letter.path: the dead letter of output "discard" writes var-log/dead.log, ` +
			`which input "app" reads as ` + filepath.Join(dir, "var-log", "dead.log"),
	}

	validate := exec.Command(binary, "validate", "-c", "config.yaml")
	validate.Dir = dir
	out, _ := validate.CombinedOutput()
	if code := validate.ProcessState.ExitCode(); code != 2 {
		t.Fatalf("validate exit code %d, want 2 (a config error); output:\n%s", code, out)
	}
	for _, w := range want {
		if !strings.Contains(string(out), w) {
			t.Errorf("validate output lacks %q:\n%s", w, out)
		}
	}

	p := start(t, dir, "-c", "config.yaml")
	if code := p.wait(30 * time.Second); code != 2 {
		t.Fatalf("run exit code %d, want 2 (a config error); logs:\n%s", code, p.logs())
	}
	for _, w := range want {
		if !strings.Contains(p.stderr.String(), w) {
			t.Errorf("run refused without %q:\n%s", w, p.logs())
		}
	}
	for _, name := range []string{"archive.log", "dead.log"} {
		if _, err := os.Lstat(filepath.Join(dir, "data", "logs", name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s exists after a refused start (%v)", name, err)
		}
	}
}

// TestValidateTokenWithNewline: a bearer token read from a file into an environment variable keeps the file's
// trailing newline; `flicker validate` refuses it at the field's line and never prints the token.
func TestValidateTokenWithNewline(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(`log_files:
  - name: app
    paths: ["/var/log/app/*.log"]
outputs:
  - type: http
    name: collector
    url: https://collector.example.com/ingest
    auth:
      bearer_token: ${COLLECTOR_TOKEN}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	const token = "tok-9f8e7d6c5b4a"
	validate := exec.Command(binary, "validate", "-c", cfg)
	validate.Env = append(os.Environ(), "COLLECTOR_TOKEN="+token+"\n")
	out, _ := validate.CombinedOutput()
	if code := validate.ProcessState.ExitCode(); code != 2 {
		t.Fatalf("validate exit code %d, want 2 (a config error); output:\n%s", code, out)
	}
	want := "config.yaml:9:7: outputs[0].auth.bearer_token: ends with a line break: secrets read from files often " +
		"do; strip it"
	if !strings.Contains(string(out), want) {
		t.Errorf("validate output lacks %q:\n%s", want, out)
	}
	if strings.Contains(string(out), "9f8e7d") {
		t.Errorf("validate printed the token:\n%s", out)
	}
}
