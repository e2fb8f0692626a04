package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCopytruncatedPastOffsetMidReadBinary: the read check through the binary. A busy reader (far from EOF, held
// in a Publish by a stalled output for much less than a scan interval, so that neither a scan nor the check
// after a pause runs) has its file copied, truncated and written again past its read position with other
// bytes. Its next read must see that the bytes before the position changed: the copy is read on from the
// position, the file from 0, and every line arrives exactly once. Without the check the reader goes on in the
// middle of the new content: the new content's head and the copy's unread lines are lost.
func TestCopytruncatedPastOffsetMidReadBinary(t *testing.T) {
	t.Parallel()
	r := newCollectorRun(t, "app.log", "queue:\n  max_events: 100\n")
	r.setScanInterval(t, "1h")
	app, coll := filepath.Join(r.logs, "app.log"), r.coll

	// 8,000 lines of 117 bytes: about 3.6 reads of 256 KiB; the first read's Publish holds the reader.
	coll.Stall()
	appendLines(t, app, "before", 0, 8000)
	want := lines("before", 0, 8000)
	p := r.start(t)
	waitFor(t, 30*time.Second, "the output stalled", func() bool { return coll.Stalled() > 0 }, p)
	copyTruncate(t, app)
	// The new content is longer than the old read position, and its bytes before that position differ (a
	// filler of y, not x): the check compares the 32 bytes before it.
	fresh := make([]string, 8000)
	for i := range fresh {
		fresh[i] = fmt.Sprintf("fresh %08d %s", i, strings.Repeat("y", 100))
	}
	if err := os.WriteFile(app, []byte(strings.Join(fresh, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want = append(want, fresh...)
	coll.Healthy()
	waitFor(t, 30*time.Second, "the new content's first and last lines", func() bool {
		return coll.Count(fresh[0]) > 0 && coll.Count(fresh[len(fresh)-1]) > 0
	}, p)
	p.stop()

	once := r.start(t, "--once") // ships whatever the run before left, so that the count is final
	if code := once.wait(30 * time.Second); code != 0 {
		t.Fatalf("--once exited %d; logs:\n%s", code, once.logs())
	}
	assertCollectedOnce(t, coll, want)
}
