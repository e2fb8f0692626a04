package main_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sinks/http/collecttest"
)

// assertExactlyOnce checks that every expected line arrived exactly once.
func assertExactlyOnce(t *testing.T, counts map[string]int, want []string) {
	t.Helper()
	missing, dup := 0, 0
	for _, w := range want {
		switch n := counts[w]; {
		case n == 0:
			if missing < 5 {
				t.Errorf("line never arrived: %.40s", w)
			}
			missing++
		case n > 1:
			if dup < 5 {
				t.Errorf("line arrived %d times: %.40s", n, w)
			}
			dup++
		}
	}
	if missing+dup > 0 {
		t.Fatalf("%d of %d lines missing, %d duplicated", missing, len(want), dup)
	}
}

// assertCollectedOnce checks that the collector accepted every line of want exactly once, and nothing else (a
// message never written is, for instance, a line's tail shipped as a line).
func assertCollectedOnce(t *testing.T, coll *collecttest.Server, want []string) {
	t.Helper()
	got := coll.Messages()
	assertExactlyOnce(t, got, want)
	if n := coll.Total(); n != len(want) {
		wanted := make(map[string]bool, len(want))
		for _, w := range want {
			wanted[w] = true
		}
		var never []string
		for m := range got {
			if !wanted[m] && len(never) < 3 {
				never = append(never, m)
			}
		}
		t.Fatalf("%d events, want %d; never written: %.60q", n, len(want), never)
	}
}

func lines(prefix string, from, to int) []string {
	out := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, line(prefix, i))
	}
	return out
}

// TestFollowRotateRestartExactlyOnce ships 200,000 lines, then follows appends, rename+create rotation while the
// writer still appends to the renamed file, copytruncate, a clean stop, a rotation while flicker is stopped, and a
// restart: every line arrives exactly once.
func TestFollowRotateRestartExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(logs, "app.log")
	out := filepath.Join(dir, "out.jsonl")
	cfg := writeConfig(t, dir, filepath.Join(logs, "*.log"), out, "")
	reg := filepath.Join(dir, "registry.db")
	var want []string
	arrived := func(n int) func() bool { return func() bool { return outputLines(t, out) >= n } }
	diagnose = func() string { return fmt.Sprintf("arrived by prefix: %v", prefixCounts(readOutput(t, out))) }
	defer func() { diagnose = func() string { return "" } }()

	appendLines(t, app, "bulk", 0, 200_000)
	want = append(want, lines("bulk", 0, 200_000)...)
	p := start(t, dir, "-c", cfg, "--track", "--registry-file", reg, "--commit-interval", "50ms")
	waitFor(t, 120*time.Second, "200,000 lines", arrived(len(want)), p)

	// Appends.
	appendLines(t, app, "append", 0, 1000)
	want = append(want, lines("append", 0, 1000)...)
	waitFor(t, 30*time.Second, "appended lines", arrived(len(want)), p)

	// rename+create while the writer still holds and appends to the renamed file.
	old, err := os.OpenFile(app, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(app, app+".1"); err != nil {
		t.Fatal(err)
	}
	appendLines(t, app, "new-after-rename", 0, 500)
	for i := range 500 {
		if _, err := old.WriteString(line("old-after-rename", i) + "\n"); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()
	want = append(want, lines("new-after-rename", 0, 500)...)
	want = append(want, lines("old-after-rename", 0, 500)...)
	waitFor(t, 30*time.Second, "lines around rename+create", arrived(len(want)), p)

	// copytruncate: copy the file aside (a new inode the glob does not match), truncate it, keep writing.
	data, err := os.ReadFile(app)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(app+".2", data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(app, 0); err != nil {
		t.Fatal(err)
	}
	appendLines(t, app, "after-copytruncate", 0, 300)
	want = append(want, lines("after-copytruncate", 0, 300)...)
	waitFor(t, 30*time.Second, "lines after copytruncate", arrived(len(want)), p)

	// Clean stop, then lines written and a rotation made while flicker is down.
	appendLines(t, app, "before-stop", 0, 200)
	want = append(want, lines("before-stop", 0, 200)...)
	p.stop()
	appendLines(t, app, "while-stopped", 0, 400)
	if err := os.Rename(app, app+".3"); err != nil {
		t.Fatal(err)
	}
	appendLines(t, app, "new-while-stopped", 0, 100)
	want = append(want, lines("while-stopped", 0, 400)...)
	want = append(want, lines("new-while-stopped", 0, 100)...)

	p = start(t, dir, "-c", cfg, "--track", "--registry-file", reg, "--commit-interval", "50ms")
	waitFor(t, 60*time.Second, "lines after restart", arrived(len(want)), p)
	p.stop()
	assertExactlyOnce(t, countMessages(readOutput(t, out)), want)
}

// TestPartialLineWaitsForNewline: a last line without newline is not shipped until it is completed.
func TestPartialLineWaitsForNewline(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.log")
	out := filepath.Join(dir, "out.jsonl")
	cfg := writeConfig(t, dir, filepath.Join(dir, "*.log"), out, "")
	appendLines(t, app, "complete", 0, 10)
	f, err := os.OpenFile(app, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("half a li"); err != nil {
		t.Fatal(err)
	}
	p := start(t, dir, "-c", cfg, "--track", "--registry-file", filepath.Join(dir, "reg.db"))
	waitFor(t, 30*time.Second, "complete lines", func() bool { return len(readOutput(t, out)) >= 10 }, p)
	// Several scans later, proved by lines of another file that each arrive (a fixed sleep may hold no scan on
	// a loaded machine), the partial line must still be held back.
	for i := range 3 {
		appendLines(t, filepath.Join(dir, "other.log"), "tick", i, i+1)
		waitFor(t, 30*time.Second, "a line of the other file", func() bool {
			return countMessages(readOutput(t, out))[line("tick", i)] == 1
		}, p)
	}
	if got := countMessages(readOutput(t, out)); got["half a li"] > 0 || len(got) != 13 {
		t.Fatalf("partial line shipped early: %d distinct messages", len(got))
	}
	if _, err := f.WriteString("ne\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "completed line", func() bool { return countMessages(readOutput(t, out))["half a line"] == 1 }, p)
	p.stop()
	assertExactlyOnce(t, countMessages(readOutput(t, out)), append(append(lines("complete", 0, 10), lines("tick", 0, 3)...),
		"half a line"))
}

// TestTruncationRestartsAtZero: a file truncated in place and rewritten is read again from its start.
func TestTruncationRestartsAtZero(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.log")
	out := filepath.Join(dir, "out.jsonl")
	cfg := writeConfig(t, dir, filepath.Join(dir, "*.log"), out, "")
	appendLines(t, app, "first", 0, 1000)
	p := start(t, dir, "-c", cfg, "--track", "--registry-file", filepath.Join(dir, "reg.db"))
	waitFor(t, 30*time.Second, "first lines", func() bool { return len(readOutput(t, out)) >= 1000 }, p)
	if err := os.Truncate(app, 0); err != nil {
		t.Fatal(err)
	}
	appendLines(t, app, "second", 0, 50)
	waitFor(t, 30*time.Second, "lines after truncation", func() bool { return len(readOutput(t, out)) >= 1050 }, p)
	p.stop()
	assertExactlyOnce(t, countMessages(readOutput(t, out)), append(lines("first", 0, 1000), lines("second", 0, 50)...))
}

// TestCrashSafety kills flicker with SIGKILL at random moments while a writer appends. After each kill the
// committed offset is read from the registry: every line before it must have arrived (at least once: the
// checkpoint never passes an undelivered line) and must never arrive again (the re-send starts at the committed
// offset, not earlier). After the last restart every line has arrived. FLICKER_CRASH_SEED replays a run's kill
// times; the seed is logged.
func TestCrashSafety(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.log")
	out := filepath.Join(dir, "out.jsonl")
	reg := filepath.Join(dir, "reg.db")
	cfg := writeConfig(t, dir, filepath.Join(dir, "*.log"), out, "")
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("FLICKER_CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("FLICKER_CRASH_SEED=%q: %v", s, err)
		}
	}
	t.Logf("FLICKER_CRASH_SEED=%d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))

	// The writer appends (about 5,000 lines a second, for a minute at most) until the kills are over, so that every
	// kill lands while lines are flowing.
	const maxLines = 300_000
	lineLen := int64(len(line("crash", 0)) + 1)
	var written atomic.Int64
	stopWriter := make(chan struct{})
	writerDone := make(chan error, 1)
	go func() {
		for i := 0; i < maxLines; i += 100 {
			select {
			case <-stopWriter:
				writerDone <- nil
				return
			default:
			}
			if err := writeLines(app, "crash", i, i+100); err != nil {
				writerDone <- err
				return
			}
			written.Store(int64(i + 100))
			time.Sleep(20 * time.Millisecond)
		}
		writerDone <- nil
	}()

	type kill struct {
		committed int64          // the file's committed offset after the kill
		counts    map[string]int // what had arrived by then
	}
	var kills []kill
	for k := range 4 {
		before := outputLines(t, out)
		p := start(t, dir, "-c", cfg, "--track", "--registry-file", reg, "--commit-interval", "50ms")
		waitFor(t, 30*time.Second, "this run's first lines", func() bool { return outputLines(t, out) > before }, p)
		time.Sleep(time.Duration(200+rng.IntN(800)) * time.Millisecond)
		if written.Load() >= maxLines {
			t.Fatalf("kill %d: the writer has finished: the kill would not land mid-stream", k)
		}
		p.kill()
		kills = append(kills, kill{committed: committedOffset(t, reg, app), counts: countMessages(readOutput(t, out))})
	}
	close(stopWriter)
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}
	total := int(written.Load())
	p := start(t, dir, "-c", cfg, "--track", "--registry-file", reg)
	want := lines("crash", 0, total)
	waitFor(t, 120*time.Second, "every line after the crashes", func() bool {
		if outputLines(t, out) < total { // cheap: decoding every line under -race on each poll is not
			return false
		}
		c := countMessages(readOutput(t, out))
		for _, w := range want {
			if c[w] == 0 {
				return false
			}
		}
		return true
	}, p)
	p.stop()
	final := countMessages(readOutput(t, out))
	for k, kl := range kills {
		if kl.committed%lineLen != 0 || kl.committed <= 0 {
			t.Fatalf("kill %d: committed offset %d is not at a line end after this run's lines", k, kl.committed)
		}
		for n := range int(kl.committed / lineLen) {
			msg := line("crash", n)
			if kl.counts[msg] == 0 {
				t.Fatalf("kill %d: line %d is before the committed offset %d but had not arrived", k, n, kl.committed)
			}
			if final[msg] != kl.counts[msg] {
				t.Fatalf("kill %d: line %d, before the committed offset %d, arrived again (%d times, %d by the kill)",
					k, n, kl.committed, final[msg], kl.counts[msg])
			}
		}
	}
	dups := 0
	for _, n := range final {
		dups += n - 1
	}
	committed := make([]int64, len(kills))
	for k, kl := range kills {
		committed[k] = kl.committed / lineLen
	}
	t.Logf("%d lines, %d duplicates after 4 kills; lines committed at the kills: %v", total, dups, committed)
}

// committedOffset is the offset `flicker registry export` holds for the file at path; the test fails without one.
func committedOffset(t *testing.T, reg, path string) int64 {
	t.Helper()
	doc, err := exportRegistry(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range doc.Files {
		if f.Path == path {
			return f.Offset
		}
	}
	t.Fatalf("no registry record for %s in %+v", path, doc)
	return 0
}

// TestValidateReportsLines: flicker validate names the field and the line of each problem and exits 2.
func TestValidateReportsLines(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("log_files:\n  - name: app\n    pathz: [\"/x/*.log\"]\noutputs:\n  - type: stdout\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "validate", "-c", bad)
	outb, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 2 {
		t.Fatalf("validate exit code %d, want 2; output:\n%s", code, outb)
	}
	if !strings.Contains(string(outb), "bad.yaml:3") || !strings.Contains(string(outb), "pathz") {
		t.Fatalf("validate output does not name the key and line 3:\n%s", outb)
	}
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("log_files:\n  - name: app\n    paths: [\"/x/*.log\"]\noutputs:\n  - type: stdout\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(binary, "validate", "-c", good)
	outb, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(outb), "valid") {
		t.Fatalf("validate of a good config: %v\n%s", err, outb)
	}
}
