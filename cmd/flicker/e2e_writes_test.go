package main_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
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
