package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExitCodesAndHelp runs the binary with usage mistakes and help requests.
func TestExitCodesAndHelp(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("log_files:\n  - name: app\n    paths: [\"/nonexistent/*.log\"]\noutputs:\n  - type: discard\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string
	}{
		{"help", []string{"--help"}, 0, []string{"run", "validate", "registry show", "version"}},
		{"run help explains flags and defaults", []string{"run", "--help"}, 0, []string{"--track", "--registry-file", "--shutdown-timeout=25s", "--once", "./data/registry.db"}},
		{"version", []string{"version"}, 0, []string{"flicker "}},
		{"unknown flag", []string{"--bogus"}, 2, []string{"--bogus"}},
		{"missing config flag", []string{"--track"}, 2, []string{"--config"}},
		{"missing config file", []string{"-c", filepath.Join(dir, "none.yaml")}, 2, []string{"none.yaml"}},
		{"bad log level", []string{"--log-level", "loud", "validate", "-c", good}, 2, []string{"log-level"}},
		{"s3 registry not in this build", []string{"-c", good, "--registry-file", "s3://b/k"}, 2, []string{"s3://b/k"}},
		{"once on nothing", []string{"-c", good, "--once"}, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(binary, tc.args...)
			cmd.Dir = dir
			out, _ := cmd.CombinedOutput()
			if code := cmd.ProcessState.ExitCode(); code != tc.wantCode {
				t.Fatalf("exit %d, want %d; output:\n%s", code, tc.wantCode, out)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
