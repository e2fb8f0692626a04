package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
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

// TestRegistryShowEscapesNames: registry show prints a tracked file whose name holds a newline, an ANSI escape
// and invalid UTF-8 as one Go-quoted field, so it neither forges a row nor reaches the terminal, while a plain
// name stays as it is.
func TestRegistryShowEscapesNames(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	reg := filepath.Join(dir, "reg.db")
	evil := filepath.Join(dir, "evil\napp\tforged.log\t1\t0\t99\t99\t0\t2026-01-01T00:00:00Z\x1b[31mred\xff\xfe.log")
	plain := filepath.Join(dir, "plain.log")
	appendLines(t, evil, "evil", 0, 5)
	appendLines(t, plain, "plain", 0, 5)
	cfg := writeConfig(t, dir, filepath.Join(dir, "*.log"), out, "")
	p := start(t, dir, "-c", cfg, "--registry-file", reg)
	waitFor(t, 30*time.Second, "10 lines", func() bool { return len(readOutput(t, out)) >= 10 }, p)
	p.stop()

	show, err := exec.Command(binary, "registry", "show", "--registry-file", reg).CombinedOutput()
	if err != nil {
		t.Fatalf("registry show: %v\n%s", err, show)
	}
	if strings.ContainsAny(string(show), "\x1b\r") || !strings.HasSuffix(string(show), "\n") {
		t.Fatalf("registry show output has a raw escape or carriage return:\n%q", show)
	}
	lines := strings.Split(strings.TrimSuffix(string(show), "\n"), "\n")
	// The meta line, the header, one row per file: a forged row would make more.
	if len(lines) != 4 {
		t.Fatalf("registry show printed %d lines, want 4 (meta, header, 2 files):\n%s", len(lines), show)
	}
	rows := map[string]string{}
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		if len(f) != 8 || f[0] != "app" {
			t.Fatalf("row %q: want 8 columns of input app", l)
		}
		rows[f[1]] = l
	}
	if _, ok := rows[plain]; !ok {
		t.Errorf("the plain name %s is not printed as it is:\n%s", plain, show)
	}
	quoted := strconv.Quote(evil)
	if !strings.Contains(string(show), " "+quoted+" ") {
		t.Errorf("the evil name is not printed Go-quoted as %s:\n%s", quoted, show)
	}
	if !utf8.Valid(show) {
		t.Errorf("registry show printed invalid UTF-8:\n%q", show)
	}
}
