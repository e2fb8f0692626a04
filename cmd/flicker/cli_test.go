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
		{"help", []string{"--help"}, 0, []string{"run", "validate", "registry show", "restore", "version"}},
		{"run help explains flags and defaults", []string{"run", "--help"}, 0, []string{"--track", "--registry-file", "--shutdown-timeout=25s", "--once", "./data/registry.db", "--snapshot-interval=5s", "--lease-ttl=15s", "--restore-timeout=60s", "--standby", "AWS_ENDPOINT_URL"}},
		{"version", []string{"version"}, 0, []string{"flicker "}},
		{"unknown flag", []string{"--bogus"}, 2, []string{"--bogus"}},
		{"missing config flag", []string{"--track"}, 2, []string{"--config"}},
		{"usage line does not ask for both config flags", []string{"run", "--help"}, 0, []string{"Usage: flicker run [flags]"}},
		{"validate without a config", []string{"validate"}, 2, []string{"--config (-c) FILE, or --config-inline"}},
		{"missing config file", []string{"-c", filepath.Join(dir, "none.yaml")}, 2, []string{"none.yaml"}},
		{"bad log level", []string{"--log-level", "loud", "validate", "-c", good}, 2, []string{"log-level"}},
		{"s3 registry without a key", []string{"-c", good, "--registry-file", "s3://bucket"}, 2, []string{"no object key"}},
		{"standby without a lease", []string{"-c", good, "--registry-file", "s3://b/k", "--standby", "--lease", "off"}, 2, []string{"--standby"}},
		{"bad lease mode", []string{"-c", good, "--registry-file", "s3://b/k", "--lease", "maybe"}, 2, []string{"--lease"}},
		{"zero commit interval", []string{"-c", good, "--once", "--commit-interval", "0s"}, 2, []string{"--commit-interval"}},
		{"negative commit interval", []string{"-c", good, "--track", "--registry-file", filepath.Join(dir, "ci.db"), "--once", "--commit-interval=-1s"}, 2, []string{"--commit-interval must be positive"}},
		{"restore --at checked before S3", []string{"restore", "--registry-file", "s3://b/k", "--s3-endpoint", "http://127.0.0.1:1", "--to", filepath.Join(dir, "r.db"), "--at", "yesterday"}, 2, []string{"--at"}},
		{"s3 endpoint with a path", []string{"-c", good, "--registry-file", "s3://b/k", "--s3-endpoint", "http://127.0.0.1:1/x"}, 2, []string{"endpoint"}},
		{"restore needs an action", []string{"restore", "--registry-file", "s3://b/k"}, 2, []string{"--list"}},
		{"restore of a local registry", []string{"restore", "--registry-file", "./r.db", "--list"}, 2, []string{"s3://"}},
		{"promote needs a choice", []string{"restore", "--registry-file", "s3://b/k", "--promote"}, 2, []string{"--at"}},
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
