package main_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCopytruncateRotation: logrotate's copytruncate (copy app.log to app.log.1, truncate app.log, the writer
// goes on at 0), while flicker runs and while it is stopped, with a glob that matches the copy (app.log*) and
// one that does not (app.log). Every line arrives exactly once: the copy's beginning is not shipped again, and
// the lines written after the last commit and before the copy (while stopped) are read from the copy. A last
// --once run ships whatever the runs before left (the rest of the copy, a late duplicate), so that the count is
// final.
func TestCopytruncateRotation(t *testing.T) {
	t.Parallel()
	for _, glob := range []string{"app.log*", "app.log"} {
		for _, stopped := range []bool{false, true} {
			name := glob + map[bool]string{false: " while running", true: " while stopped"}[stopped]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				logs := filepath.Join(dir, "logs")
				if err := os.Mkdir(logs, 0o755); err != nil {
					t.Fatal(err)
				}
				app, out, reg := filepath.Join(logs, "app.log"), filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "reg.db")
				cfg := writeConfig(t, dir, filepath.Join(logs, glob), out, "")
				run := func() *proc {
					return start(t, dir, "-c", cfg, "--registry-file", reg, "--commit-interval", "50ms")
				}
				arrived := func(n int) func() bool { return func() bool { return outputLines(t, out) >= n } }

				before := 1500
				if stopped {
					before = 1000
				}
				appendLines(t, app, "before", 0, before)
				want := lines("before", 0, before)
				p := run()
				waitFor(t, 30*time.Second, "lines before the rotation", arrived(len(want)), p)
				if stopped {
					p.stop()
					appendLines(t, app, "unread", 0, 500) // after the last commit, before the copy
					want = append(want, lines("unread", 0, 500)...)
				}
				data, err := os.ReadFile(app)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(app+".1", data, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Truncate(app, 0); err != nil {
					t.Fatal(err)
				}
				appendLines(t, app, "after", 0, 200)
				want = append(want, lines("after", 0, 200)...)
				if stopped {
					p = run()
				}
				// The lines after the truncation arrive once the truncation was seen, and with it the copy.
				waitFor(t, 30*time.Second, "the lines written after the truncation", func() bool {
					return prefixCounts(readOutput(t, out))["after"] >= 200
				}, p)
				p.stop()

				once := start(t, dir, "-c", cfg, "--registry-file", reg, "--once")
				if code := once.wait(30 * time.Second); code != 0 {
					t.Fatalf("--once exited %d; logs:\n%s", code, once.logs())
				}
				got := readOutput(t, out)
				assertExactlyOnce(t, countMessages(got), want)
				if len(got) != len(want) {
					t.Fatalf("%d events, want %d", len(got), len(want))
				}
			})
		}
	}
}
