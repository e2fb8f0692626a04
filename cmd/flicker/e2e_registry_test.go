package main_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRegistryCommands: show and export on a registry held by a running flicker fail fast with exit 3 and say
// why; after a clean stop they print the committed offsets, and import round-trips the export.
func TestRegistryCommands(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.log")
	out := filepath.Join(dir, "out.jsonl")
	reg := filepath.Join(dir, "reg.db")
	cfg := writeConfig(t, dir, filepath.Join(dir, "*.log"), out, "")
	appendLines(t, app, "reg", 0, 100)
	size := int64(100 * (len(line("reg", 0)) + 1))

	p := start(t, dir, "-c", cfg, "--registry-file", reg)
	waitFor(t, 30*time.Second, "100 lines", func() bool { return len(readOutput(t, out)) >= 100 }, p)

	cmd := exec.Command(binary, "registry", "show", "--registry-file", reg, "--lock-timeout", "200ms")
	began := time.Now()
	outb, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 3 || !strings.Contains(string(outb), "locked") {
		t.Fatalf("registry show on a live registry: exit %d, want 3 and a message saying it is locked:\n%s", code, outb)
	}
	if d := time.Since(began); d > 20*time.Second {
		t.Fatalf("registry show on a live registry took %s: it must not hang", d)
	}

	// A second flicker on the same registry is refused at once with exit 3, not left waiting.
	second := exec.Command(binary, "-c", cfg, "--registry-file", reg)
	began = time.Now()
	outb, _ = second.CombinedOutput()
	if code := second.ProcessState.ExitCode(); code != 3 || !strings.Contains(string(outb), "locked") {
		t.Fatalf("second flicker on a held registry: exit %d, want 3 and a message saying it is locked:\n%s", code, outb)
	}
	if d := time.Since(began); d > 20*time.Second {
		t.Fatalf("second flicker took %s to give up", d)
	}
	p.stop()

	outb, err := exec.Command(binary, "registry", "show", "--registry-file", reg).CombinedOutput()
	if err != nil {
		t.Fatalf("registry show: %v\n%s", err, outb)
	}
	if !strings.Contains(string(outb), app) || !strings.Contains(string(outb), " "+itoa(size)+" ") {
		t.Fatalf("registry show does not list %s at offset %d:\n%s", app, size, outb)
	}

	export, err := exec.Command(binary, "registry", "export", "--registry-file", reg).Output()
	if err != nil {
		t.Fatalf("registry export: %v", err)
	}
	var doc struct {
		Format string `json:"format"`
		Files  []struct {
			Path   string `json:"path"`
			Offset int64  `json:"offset"`
		} `json:"files"`
	}
	if err := json.Unmarshal(export, &doc); err != nil {
		t.Fatalf("export is not JSON: %v\n%s", err, export)
	}
	if doc.Format != "flicker-registry" || len(doc.Files) != 1 || doc.Files[0].Offset != size || doc.Files[0].Path != app {
		t.Fatalf("export = %+v, want one file %s at offset %d", doc, app, size)
	}

	// Import into a new registry: a run on it resumes at the end and ships nothing again.
	exportPath := filepath.Join(dir, "export.json")
	if err := os.WriteFile(exportPath, export, 0o644); err != nil {
		t.Fatal(err)
	}
	reg2 := filepath.Join(dir, "reg2.db")
	if outb, err := exec.Command(binary, "registry", "import", "--registry-file", reg2, exportPath).CombinedOutput(); err != nil {
		t.Fatalf("registry import: %v\n%s", err, outb)
	}
	if err := os.Remove(out); err != nil {
		t.Fatal(err)
	}
	run := exec.Command(binary, "-c", cfg, "--registry-file", reg2, "--once")
	if outb, err := run.CombinedOutput(); err != nil {
		t.Fatalf("--once on the imported registry: %v\n%s", err, outb)
	}
	if n := len(readOutput(t, out)); n != 0 {
		t.Fatalf("%d lines re-sent after importing a registry that had them all", n)
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
