package file_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sources/file"
)

// A multi-line event longer than one read (256 KiB) was written at once. The first read's Publish holds the
// reader (backpressure) for longer than the multi-line timeout: the time held does not count towards the
// timeout, since the event's next lines were in the file all along, only not read yet. The event ships whole.
func TestMultilineNotExpiredWhileReaderHeld(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	var b strings.Builder
	// The first read's Publish (of INFO before) holds the reader; 4000 continuation lines of 101 bytes follow:
	// about 400 KiB.
	b.WriteString("INFO before\nERROR first\n")
	for range 4000 {
		b.WriteString(" at " + strings.Repeat("s", 96) + "\n")
	}
	b.WriteString("INFO next\nINFO last\n")
	writeFile(t, path, b.String())
	want := strings.TrimSuffix(strings.TrimPrefix(b.String(), "INFO before\n"), "\nINFO next\nINFO last\n")

	cfg := testConfig(dir, func(c *file.Config) {
		c.Multiline = &file.MultilineConfig{Pattern: `^\s`, Timeout: 100 * time.Millisecond, MaxLines: 5000,
			MaxBytes: 1 << 20}
	})
	pub, held := heldPublisher()
	r := startWith(t, cfg, newRegistry(), file.Options{}, pub)
	held.wait(t)
	time.Sleep(400 * time.Millisecond) // four multi-line timeouts while the reader is held
	held.release()
	eventually(t, "the INFO lines", func() bool { return len(r.pub.messages(path)) >= 3 })
	msgs := r.pub.messages(path)
	if len(msgs) < 3 || msgs[0] != "INFO before" || msgs[1] != want || msgs[2] != "INFO next" {
		var lens []int
		for _, m := range msgs {
			lens = append(lens, len(m))
		}
		t.Fatalf("message lengths %v, want [11 %d 9 ...]: the multi-line event was cut", lens, len(want))
	}
}
