package main_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCopyOnReusedInode (found by the chaos harness, benchmarks/chaos): a copytruncate whose copy is created on
// the inode of a file flicker read and that was deleted since (ext4 hands a freed inode to the next file created
// in the directory; a busy log folder does the same). The lines written just before the copy, not read yet when
// the truncation is seen, must be read from the copy: flicker's record on that inode is another, deleted file's.
func TestCopyOnReusedInode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mnt := filepath.Join(dir, "fs")
	mountExt4(t, mnt)
	old, app := filepath.Join(mnt, "old.log"), filepath.Join(mnt, "app.log")
	appendLines(t, old, "old", 0, 20)
	appendLines(t, app, "app", 0, 20)
	out := filepath.Join(dir, "out.jsonl")
	cfg := writeConfig(t, dir, filepath.Join(mnt, "*.log"), out, "")
	p := start(t, dir, "-c", cfg, "--log-format", "json")
	waitFor(t, 30*time.Second, "the first 40 lines", func() bool { return outputLines(t, out) >= 40 }, p)

	// old.log is rotated away and deleted; flicker releases it (read to its end) and frees its inode.
	rotated := old + ".1"
	if err := os.Rename(old, rotated); err != nil {
		t.Fatal(err)
	}
	inode := inodeOf(t, rotated)
	if err := os.Remove(rotated); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "flicker to close the deleted file", func() bool { return !holds(t, p, rotated) }, p)

	// Stopped (SIGSTOP), flicker cannot read the lines written next before it sees the truncation.
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	appendLines(t, app, "app", 20, 40)
	copied := app + ".1"
	copyFile(t, app, copied)
	if err := os.Truncate(app, 0); err != nil {
		t.Fatal(err)
	}
	appendLines(t, app, "new", 0, 5)
	if err := p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if got := inodeOf(t, copied); got != inode {
		t.Skipf("ext4 gave the copy inode %d, not the freed %d: no reuse to test", got, inode)
	}

	want := append(append(lines("old", 0, 20), lines("app", 0, 40)...), lines("new", 0, 5)...)
	waitFor(t, 30*time.Second, "every line", func() bool { return outputLines(t, out) >= len(want) }, p)
	p.stop()
	assertExactlyOnce(t, countMessages(readOutput(t, out)), want)
}

// holds reports whether the flicker process p has path open.
func holds(t *testing.T, p *proc, path string) bool {
	t.Helper()
	fds := fmt.Sprintf("/proc/%d/fd", p.cmd.Process.Pid)
	entries, err := os.ReadDir(fds)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join(fds, e.Name())); err == nil && strings.HasPrefix(target, path) {
			return true
		}
	}
	return false
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestS3RestoreOfALargeRegistry (found by the chaos harness): a registry whose snapshot is larger than the first
// read of a download (32 KiB; here 1500 tracked files) is restored from the latest snapshot by a new pod, which
// ships nothing again. It used to fail as "truncated payload" and fall back to the history, then to nothing.
func TestS3RestoreOfALargeRegistry(t *testing.T) {
	t.Parallel()
	f := newS3Fixture(t)
	const files = 1500
	for i := range files {
		appendLines(t, filepath.Join(filepath.Dir(f.logPath), fmt.Sprintf("svc-%04d.log", i)), fmt.Sprintf("f%04d", i), 0, 1)
	}
	if code, logs := f.runOnce("a"); code != 0 {
		t.Fatalf("first pod exited %d:\n%s", code, logs)
	}
	if n := outputLines(t, f.outPath); n != files {
		t.Fatalf("first pod shipped %d lines, want %d", n, files)
	}
	code, logs := f.runOnce("b")
	if code != 0 || !strings.Contains(logs, `"message":"registry restored"`) || strings.Contains(logs, "FALLBACK") {
		t.Fatalf("second pod exited %d; want 0 and the latest snapshot restored:\n%s", code, logs)
	}
	if n := outputLines(t, f.outPath); n != files {
		t.Fatalf("%d lines after the second pod, want %d: it shipped again what the first did", n, files)
	}
}
