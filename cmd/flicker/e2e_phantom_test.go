package main_test

import (
	"path/filepath"
	"testing"
	"time"
)

// TestNoPhantomAfterHeldReader: a file resumed at its committed offset is opened, then the reader is held in a
// Publish of another file (the HTTP output stalls, the queue is full) while the file is copied, truncated and
// rewritten past that offset. When the output recovers, nothing is read at the old offset in the new content
// (the chaos harness's phantom events: a line's tail without its header): the copy is read on from the offset,
// the file from 0, and every line arrives exactly once.
func TestNoPhantomAfterHeldReader(t *testing.T) {
	t.Parallel()
	r := newCollectorRun(t, "*.log", "queue:\n  max_events: 100\n")
	busy, app, coll := filepath.Join(r.logs, "a.log"), filepath.Join(r.logs, "b.log"), r.coll
	run := func(args ...string) *proc { return r.start(t, args...) }

	appendLines(t, app, "old", 0, 300)
	want := lines("old", 0, 300)
	p := run()
	waitFor(t, 30*time.Second, "the first lines", func() bool { return coll.Total() >= 300 }, p)
	p.stop() // commits b.log at its end

	// a.log sorts first and holds far more than one read (256 KiB) and the queue: its Publish holds the reader
	// after both files were opened, before b.log's unread lines are read.
	appendLines(t, app, "unread", 0, 100)
	appendLines(t, busy, "busy", 0, 3000)
	want = append(append(want, lines("unread", 0, 100)...), lines("busy", 0, 3000)...)
	coll.Stall()
	p = run()
	waitFor(t, 30*time.Second, "a stalled request", func() bool { return coll.Stalled() > 0 }, p)
	copyTruncate(t, app)
	// Lines two bytes longer than the old ones, past the committed offset, which falls inside one of them.
	appendLines(t, app, "fresh", 0, 400)
	want = append(want, lines("fresh", 0, 400)...)
	// The pause under test: the reader stays held for several scan intervals (50ms) after b.log was opened.
	time.Sleep(300 * time.Millisecond)
	coll.Healthy()
	waitFor(t, 30*time.Second, "the lines written after the truncation", func() bool {
		return coll.Count(line("fresh", 399)) > 0
	}, p)
	p.stop()

	once := run("--once") // ships whatever the run before left, so that the count is final
	if code := once.wait(30 * time.Second); code != 0 {
		t.Fatalf("--once exited %d; logs:\n%s", code, once.logs())
	}
	assertCollectedOnce(t, coll, want)
}
