package file_test

import (
	"path/filepath"
	"testing"

	"github.com/flickerlog/flicker/sources/file"
)

// TestTwoCopytruncatesBeforeAcks: a file is copied and truncated twice (copytruncate by size, or daily
// while an output is down) before the outputs acknowledge the events read before the first rotation. When those
// acknowledgements arrive, they must advance the first copy's state; otherwise its registry offset stays behind
// and a restart ships its lines again.
func TestTwoCopytruncatesBeforeAcks(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "b.log")
	gen0, want0 := lines("gen0", 200) // longer than the fingerprint
	writeFile(t, path, gen0)
	reg := newRegistry()
	cfg := testConfig(dir, func(c *file.Config) { c.Paths = []string{path} })
	r := start(t, cfg, reg, file.Options{})
	waitMessages(t, r, path, want0...)

	copy1 := path + "-1"
	copytruncate(t, path, copy1)
	gen1, want1 := lines("gen1", 200)
	appendFile(t, path, gen1)
	waitMessages(t, r, path, append(append([]string(nil), want0...), want1...)...)

	copy2 := path + "-2"
	copytruncate(t, path, copy2)
	gen2, want2 := lines("gen2", 3)
	appendFile(t, path, gen2)
	waitMessages(t, r, path, append(append(append([]string(nil), want0...), want1...), want2...)...)

	// The outputs come back and acknowledge everything, in order.
	r.pub.ackAll(r.src)
	for _, c := range []struct {
		path string
		size int
	}{{copy1, len(gen0)}, {copy2, len(gen1)}, {path, len(gen2)}} {
		st, _ := reg.get(inodeOf(t, c.path))
		if st.Offset != int64(c.size) {
			t.Errorf("%s: registry offset %d after every event was acknowledged, want its size %d",
				filepath.Base(c.path), st.Offset, c.size)
		}
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}

	// A clean restart must ship nothing again.
	r2 := start(t, cfg, reg, file.Options{})
	eventually(t, "first scan", func() bool { return r2.src.Stats().FilesTracked >= 3 })
	appendFile(t, path, "after-restart\n")
	eventually(t, "line written after the restart", func() bool {
		for _, m := range r2.pub.messages("") {
			if m == "after-restart" {
				return true
			}
		}
		return false
	})
	if got := r2.pub.messages(""); len(got) != 1 {
		t.Errorf("after a clean stop the restart shipped %d lines again (first %q), want only \"after-restart\"",
			len(got)-1, got[0])
	}
}
