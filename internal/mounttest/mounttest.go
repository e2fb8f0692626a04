// Package mounttest mounts small filesystems for tests that need a property only a real filesystem has: a full
// disk, two devices with the same inode numbers, an inode handed out again. The tests run as root in CI, where a
// failed mount fails the test; elsewhere (no privilege) it skips.
package mounttest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Mount runs mount(8) with args (the last one the mount point, created if missing) and unmounts at cleanup.
func Mount(t testing.TB, args ...string) {
	t.Helper()
	dir := args[len(args)-1]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", args...).CombinedOutput(); err != nil {
		msg := fmt.Sprintf("mount %s: %v: %s", strings.Join(args, " "), err, out)
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (CI runs as root and must be able to mount)", msg)
		}
		t.Skipf("cannot mount here (needs root): %s", msg)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
}

// TmpFS mounts a tmpfs of size (mount's syntax: "4m") at a new temp dir and returns the dir.
func TmpFS(t testing.TB, size string) string {
	t.Helper()
	dir := t.TempDir()
	Mount(t, "-t", "tmpfs", "-o", "size="+size, "none", dir)
	return dir
}
