package file_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/flickerlog/flicker/sources/file"
)

// Two directory symlinks pointing back up the tree (current -> ..) under a ** glob: the scan still ends, each
// directory walked once, and the file next to them is shipped once. Before, doublestar's walk followed the links
// without looking for loops: 2^40 paths, a first scan that never ended, an input that ignored SIGTERM.
func TestDoubleStarSymlinkLoops(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "app")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	symlink(t, dir, filepath.Join(sub, "up1"))
	symlink(t, dir, filepath.Join(sub, "up2"))
	path := filepath.Join(sub, "a.log")
	writeFile(t, path, "hello\n")
	linked := filepath.Join(t.TempDir(), "linked")
	if err := os.Mkdir(linked, 0o755); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(linked, "b.log")
	writeFile(t, other, "through a link\n")
	symlink(t, linked, filepath.Join(sub, "logs")) // a symlinked directory is still followed
	cfg := testConfig(dir, func(c *file.Config) { c.Paths = []string{filepath.Join(dir, "**", "*.log")} })
	r := start(t, cfg, newRegistry(), file.Options{})
	waitMessages(t, r, path, "hello")
	waitMessages(t, r, filepath.Join(sub, "logs", "b.log"), "through a link")
}
