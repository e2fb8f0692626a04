package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRegistryCommandsOnNotARegistry: every registry command on an empty file or a text file says the file is
// not a flicker registry and which flag to check, exits 2, and leaves the file as it was (show on an empty file
// used to say "bad file descriptor", and reset turned it into a new registry).
func TestRegistryCommandsOnNotARegistry(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	export := filepath.Join(dir, "export.json")
	if err := os.WriteFile(export, []byte(`{"format":"flicker-registry","version":2,"meta":{},"files":[],"cursors":[]}`),
		0o600); err != nil {
		t.Fatal(err)
	}
	for _, file := range []struct{ name, content string }{{"empty.db", ""}, {"text.db", "hello\n"}} {
		path := filepath.Join(dir, file.name)
		if err := os.WriteFile(path, []byte(file.content), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"show"}, {"export"}, {"reset", "app"}, {"import", export}} {
			cmd := exec.Command(binary, append(append([]string{"registry"}, args...), "--registry-file", path)...)
			out, _ := cmd.CombinedOutput()
			code := cmd.ProcessState.ExitCode()
			if code != 2 || !strings.Contains(string(out), "not a flicker registry") ||
				!strings.Contains(string(out), "--registry-file") || strings.Contains(string(out), "bad file descriptor") {
				t.Errorf("registry %s on %s: exit %d, want 2 and a message saying it is not a flicker registry:\n%s",
					args[0], file.name, code, out)
			}
			if after, err := os.ReadFile(path); err != nil || string(after) != file.content {
				t.Fatalf("registry %s changed %s: %d bytes, err %v", args[0], file.name, len(after), err)
			}
		}
	}
}
