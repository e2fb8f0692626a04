package durable_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/flickerlog/flicker/internal/durable"
)

// syncDirChild, set in the environment, makes TestSyncDir the traced child: it only calls SyncDir on that folder.
const syncDirChild = "DURABLE_TEST_SYNC_DIR"

// TestSyncDir: SyncDir must reach the disk for the directory itself, which no return value shows. The test
// binary runs again under strace as a child that calls SyncDir, and the trace must hold a successful fsync of a
// descriptor open on that directory.
func TestSyncDir(t *testing.T) {
	if dir := os.Getenv(syncDirChild); dir != "" {
		if err := durable.SyncDir(dir); err != nil {
			t.Fatalf("SyncDir: %v", err)
		}
		return
	}
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Fatalf("strace is needed to see SyncDir's fsync: run make tools (%v)", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	trace := filepath.Join(t.TempDir(), "strace.out")
	cmd := exec.Command(strace, "-f", "-y", "-qq", "-e", "trace=fsync,fdatasync,syncfs,sync", "-o", trace,
		os.Args[0], "-test.run=^TestSyncDir$", "-test.count=1")
	cmd.Env = append(os.Environ(), syncDirChild+"="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("traced SyncDir: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`\bfsync\(\d+<` + regexp.QuoteMeta(dir) + `>\)\s+= 0`).Match(raw) {
		t.Fatalf("no fsync of %s in the trace:\n%.4000s", dir, raw)
	}

	if err := durable.SyncDir(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Fatalf("SyncDir of a missing directory: %v, want a not-exist error", err)
	}
}
