package main_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fperfMessage is the i-th stderr message of TestE2ECRIHeldEventsIntact: its number and a padding that depends
// on it, so that bytes of another message in its place show.
func fperfMessage(i int) string {
	return fmt.Sprintf("m %08d %s", i, strings.Repeat(string(rune('a'+i%26)), 120+i%60))
}

// While one stream's message is being joined, the other stream's messages are shipped with the position before
// it, all the same. The engine acknowledges that position once, when the first of them is done: the rest must
// still arrive intact, however far the reader has read (and reused its buffers) since.
func TestE2ECRIHeldEventsIntact(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logPath := filepath.Join(dir, "pod.log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	const when = "2026-11-21T10:00:00.123456789Z"
	fmt.Fprintf(w, "%s stdout P held-", when)
	fmt.Fprintln(w)
	const messages = 60000 // about 12 MiB: many read buffers
	for i := range messages {
		fmt.Fprintf(w, "%s stderr F %s\n", when, fperfMessage(i))
	}
	fmt.Fprintf(w, "%s stdout F back\n", when)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	out := filepath.Join(dir, "out.jsonl")
	cfg := writeConfig(t, dir, logPath, out, "    format: cri\n    join_timeout: 10m")
	p := start(t, dir, "-c", cfg, "--log-format", "json")
	waitFor(t, 30*time.Second, "every message", func() bool { return outputLines(t, out) >= messages+1 }, p)
	p.stop()
	evs := readOutput(t, out)
	if len(evs) != messages+1 {
		t.Fatalf("%d events, want %d", len(evs), messages+1)
	}
	bad, joined := 0, 0
	for i, ev := range evs {
		if ev.Message == "held-back" {
			joined++
			continue
		}
		var n int
		if _, err := fmt.Sscanf(ev.Message, "m %08d", &n); err != nil || ev.Message != fperfMessage(n) || n != i-joined {
			if bad++; bad <= 3 {
				t.Errorf("event %d: %.80q", i, ev.Message)
			}
		}
	}
	if bad > 0 || joined != 1 {
		t.Fatalf("%d of %d messages changed, joined message found %d times", bad, len(evs), joined)
	}
}
