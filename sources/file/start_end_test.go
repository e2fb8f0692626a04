package file_test

import (
	"path/filepath"
	"testing"

	"github.com/flickerlog/flicker/sources/file"
)

// With start_position: end, a file found at startup while its last line is being written (no newline yet)
// starts after its last newline: the position saved is at a line boundary, and the line is shipped whole once
// finished, not its tail as a line of its own.
func TestStartPositionEndMidLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, "old\nhalf of a li")
	reg := newRegistry()
	r := start(t, testConfig(dir, func(c *file.Config) { c.StartPosition = "end" }), reg, file.Options{})
	eventually(t, "first scan", func() bool { return r.src.Stats().FilesTracked == 1 })
	if st, _ := reg.get(inodeOf(t, path)); st.Offset != 4 {
		t.Errorf("registry offset %d saved at startup, want 4: after the last newline", st.Offset)
	}
	appendFile(t, path, "ne\nnew\n")
	waitMessages(t, r, path, "half of a line", "new")
}
