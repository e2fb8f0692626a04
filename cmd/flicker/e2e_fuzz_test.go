package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/store"
)

// Bugs the fuzz targets found, seen through the binary.

// A truncated registry file (a node crash on a disk without fsync) is refused with an error naming it, where
// bbolt's memory map used to kill the process with SIGBUS.
func TestTruncatedRegistryRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	reg := filepath.Join(dir, "registry.db")
	db, err := store.Open(reg, store.Options{NoSync: true}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		db.PutFile(store.FileRecord{Input: "app", Inode: uint64(i + 1), Path: fmt.Sprintf("/var/log/app/%d.log", i),
			Offset: int64(i)})
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(reg, info.Size()/2); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"registry", "show"}, {"registry", "export"}} {
		cmd := exec.Command(binary, append(args, "--registry-file", reg)...)
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(string(out), "registry file is damaged") ||
			!strings.Contains(string(out), reg) || strings.Contains(string(out), "fatal error") {
			t.Fatalf("%s of a truncated registry: exit %d, want 1 and an error naming the damaged file:\n%s",
				strings.Join(args, " "), code, out)
		}
	}
}

// An export whose seq is the largest uint64 is refused: importing it used to wrap the registry's seq to 0.
func TestRegistryImportLargestSeqRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	reg, doc := filepath.Join(dir, "registry.db"), filepath.Join(dir, "export.json")
	if err := os.WriteFile(doc, []byte(`{"format":"flicker-registry","version":3,`+
		`"meta":{"epoch":1,"seq":18446744073709551615},"files":[],"cursors":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "registry", "import", "--registry-file", reg, doc)
	out, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(out), "meta.seq 18446744073709551615") {
		t.Fatalf("import of seq 2^64-1: exit %d, want 2 and an error naming meta.seq:\n%s", code, out)
	}
}
