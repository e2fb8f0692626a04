package main_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCopytruncateRotation: logrotate's copytruncate (copy app.log to app.log.1, truncate app.log, the writer
// goes on at 0), while flicker runs and while it is stopped, with a glob that matches the copy (app.log*) and
// one that does not (app.log). Lines not read yet when the copy is made are in the copy only: while running,
// the HTTP output blocks until the rotation is done, so that reading stops at the queue's bound with most of the
// file unread; while stopped, lines are written after the last commit. Every line arrives exactly once: the
// copy's beginning is not shipped again, its unread lines are read from it. A last --once run ships whatever
// the runs before left (the rest of the copy, a late duplicate), so that the count is final.
func TestCopytruncateRotation(t *testing.T) {
	t.Parallel()
	for _, glob := range []string{"app.log*", "app.log"} {
		for _, stopped := range []bool{false, true} {
			name := glob + map[bool]string{false: " while running", true: " while stopped"}[stopped]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				r := newCollectorRun(t, glob, "queue:\n  max_events: 100\n")
				app, coll := filepath.Join(r.logs, "app.log"), r.coll
				run := func(args ...string) *proc { return r.start(t, args...) }

				var want []string
				var p *proc
				if stopped {
					appendLines(t, app, "before", 0, 1000)
					want = lines("before", 0, 1000)
					p = run()
					waitFor(t, 30*time.Second, "lines before the rotation", func() bool { return coll.Total() >= 1000 }, p)
					p.stop()
					appendLines(t, app, "unread", 0, 500) // after the last commit, before the copy
					want = append(want, lines("unread", 0, 500)...)
				} else {
					// 8,000 lines of 119 bytes: far more than one read (256 KiB) and the queue hold.
					coll.Stall()
					appendLines(t, app, "before", 0, 8000)
					want = lines("before", 0, 8000)
					p = run()
					waitFor(t, 30*time.Second, "the output blocked", func() bool { return coll.Requests() > 0 }, p)
				}
				copyTruncate(t, app)
				appendLines(t, app, "after", 0, 200)
				want = append(want, lines("after", 0, 200)...)
				if stopped {
					p = run()
				} else {
					coll.Healthy()
				}
				// The lines after the truncation arrive once the truncation was seen, and with it the copy.
				waitFor(t, 30*time.Second, "the lines written after the truncation", func() bool {
					return coll.Count(line("after", 199)) > 0
				}, p)
				p.stop()

				once := run("--once")
				if code := once.wait(30 * time.Second); code != 0 {
					t.Fatalf("--once exited %d; logs:\n%s", code, once.logs())
				}
				assertCollectedOnce(t, coll, want)
			})
		}
	}
}

// copyTruncate does what logrotate's copytruncate does to path: copies it to path.1, then truncates it.
func copyTruncate(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".1", data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
}
