package main_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	time.Sleep(300 * time.Millisecond) // several scan intervals: the partial line must still be held back
	if got := countMessages(readOutput(t, out)); got["half a li"] > 0 || len(got) != 10 {
		t.Fatalf("partial line shipped early: %d distinct messages", len(got))
	}
	if _, err := f.WriteString("ne\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "completed line", func() bool { return countMessages(readOutput(t, out))["half a line"] == 1 }, p)
	p.stop()
	assertExactlyOnce(t, countMessages(readOutput(t, out)), append(lines("complete", 0, 10), "half a line"))
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

// TestCrashSafety kills flicker with SIGKILL at random moments while a writer appends. After the last restart
// every line has arrived at least once, and every duplicate is a line that had already arrived before a kill.
func TestCrashSafety(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.log")
	out := filepath.Join(dir, "out.jsonl")
	reg := filepath.Join(dir, "reg.db")
	cfg := writeConfig(t, dir, filepath.Join(dir, "*.log"), out, "")
	const total = 60_000
	writerDone := make(chan error, 1)
	go func() {
		for i := 0; i < total; i += 500 {
			if err := writeLines(app, "crash", i, i+500); err != nil {
				writerDone <- err
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		writerDone <- nil
	}()
	seenBeforeKill := map[string]bool{}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for range 4 {
		p := start(t, dir, "-c", cfg, "--track", "--registry-file", reg, "--commit-interval", "50ms")
		time.Sleep(time.Duration(200+rng.IntN(800)) * time.Millisecond)
		p.kill()
		for _, ev := range readOutput(t, out) {
			seenBeforeKill[ev.Message] = true
		}
	}
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}
	p := start(t, dir, "-c", cfg, "--track", "--registry-file", reg)
	want := lines("crash", 0, total)
	waitFor(t, 120*time.Second, "every line after the crashes", func() bool {
		c := countMessages(readOutput(t, out))
		for _, w := range want {
			if c[w] == 0 {
				return false
			}
		}
		return true
	}, p)
	p.stop()
	dups := 0
	for msg, n := range countMessages(readOutput(t, out)) {
		if n > 1 {
			dups += n - 1
			if !seenBeforeKill[msg] {
				t.Errorf("line re-sent although it had not arrived before any kill: %.40s", msg)
			}
		}
	}
	t.Logf("%d lines, %d duplicates after 4 kills", total, dups)
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
