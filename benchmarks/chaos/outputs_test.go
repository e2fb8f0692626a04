package chaos

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestOutputTailFollowsRotations: the tail reads every event once across the output's rotations, also when the
// output rotated twice between two polls, and a line cut and truncated away (a full disk) is not mixed with what
// replaced it.
func TestOutputTailFollowsRotations(t *testing.T) {
	start := time.Now()
	l := newLedger(start)
	id := l.stream("f000")
	for seq := range 6 {
		l.wrote(id, uint32(seq), 1, 0, false, start, 40)
	}
	path := filepath.Join(t.TempDir(), "out.ndjson")
	event := func(seq int) string {
		return fmt.Sprintf(`{"@timestamp":"2026-12-07T10:00:00Z","message":%q,"id":"x"}`+"\n", message("f000", uint32(seq), 0, 1, 40))
	}
	appendTo := func(p, s string) {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	rotate := func() {
		for n := outputRotateFiles - 1; n >= 1; n-- {
			_ = os.Rename(fmt.Sprintf("%s.%d", path, n), fmt.Sprintf("%s.%d", path, n+1))
		}
		if err := os.Rename(path, path+".1"); err != nil {
			t.Fatal(err)
		}
	}
	tail := &outputTail{path: path, out: outFile, exited: func() bool { return false }}
	defer tail.close()
	poll := func() {
		if err := tail.poll(l, time.Now()); err != nil {
			t.Fatal(err)
		}
	}

	appendTo(path, event(0))
	cut := event(1)
	appendTo(path, cut[:20]) // a write cut by a full disk...
	poll()
	if err := os.Truncate(path, int64(len(event(0)))); err != nil { // ...and truncated away
		t.Fatal(err)
	}
	appendTo(path, event(1)+event(2))
	rotate()
	appendTo(path, event(3))
	rotate()
	appendTo(path, event(4))
	poll()
	appendTo(path, event(5))
	poll()

	pods := []podView{{outputs: [numOutputs]bool{outFile: true}}}
	v := l.check(pods, time.Second, func(int32) bool { return false })
	if v.Lost != 0 || v.Phantoms != 0 || v.Deliveries["file"] != 6 {
		t.Fatalf("lost %d, never written %d, deliveries %d; want 0, 0, 6 (samples %v)", v.Lost, v.Phantoms,
			v.Deliveries["file"], v.Samples)
	}
}

// TestOutputTailFinishKeeps: with keep set (-chaos.dir), finish copies the output's files, rotated ones too,
// before removing them, so that a loss can be looked for in what the pod wrote.
func TestOutputTailFinishKeeps(t *testing.T) {
	dir := t.TempDir()
	path, keep := filepath.Join(dir, "pod-003.ndjson"), filepath.Join(dir, "outputs")
	if err := os.Mkdir(keep, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"pod-003.ndjson": "current\n", "pod-003.ndjson.2": "older\n"}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tail := &outputTail{path: path, out: outFile, exited: func() bool { return true }, keep: keep}
	if err := tail.finish(); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s: not removed (%v)", name, err)
		}
		got, err := os.ReadFile(filepath.Join(keep, name))
		if err != nil || string(got) != content {
			t.Errorf("kept %s: %q, %v; want %q", name, got, err, content)
		}
	}
}

// outputFixture is a pod's file output written by hand: events of stream f000 appended to path and rotated the
// way sinks/file rotates (path -> path.1 -> ... -> path.outputRotateFiles).
type outputFixture struct {
	t    *testing.T
	l    *ledger
	path string
}

func newOutputFixture(t *testing.T, events int) *outputFixture {
	start := time.Now()
	l := newLedger(start)
	id := l.stream("f000")
	for seq := range events {
		l.wrote(id, uint32(seq), 1, 0, false, start, 40)
	}
	return &outputFixture{t: t, l: l, path: filepath.Join(t.TempDir(), "out.ndjson")}
}

func (o *outputFixture) write(seqs ...int) {
	f, err := os.OpenFile(o.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		o.t.Fatal(err)
	}
	defer f.Close()
	for _, seq := range seqs {
		ev := fmt.Sprintf(`{"@timestamp":"2026-12-07T10:00:00Z","message":%q,"id":"x"}`+"\n",
			message("f000", uint32(seq), 0, 1, 40))
		if _, err := f.WriteString(ev); err != nil {
			o.t.Fatal(err)
		}
	}
}

func (o *outputFixture) rotate() {
	for n := outputRotateFiles - 1; n >= 1; n-- {
		_ = os.Rename(fmt.Sprintf("%s.%d", o.path, n), fmt.Sprintf("%s.%d", o.path, n+1))
	}
	if err := os.Rename(o.path, o.path+".1"); err != nil {
		o.t.Fatal(err)
	}
}

// checkAllOnce fails unless every event written arrived at the file output exactly once.
func (o *outputFixture) checkAllOnce(events int) {
	o.t.Helper()
	pods := []podView{{outputs: [numOutputs]bool{outFile: true}}}
	v := o.l.check(pods, time.Second, func(int32) bool { return false })
	if v.Lost != 0 || v.Phantoms != 0 || v.Deliveries["file"] != events {
		o.t.Fatalf("lost %d, never written %d, deliveries %d; want 0, 0, %d (samples %v)", v.Lost, v.Phantoms,
			v.Deliveries["file"], events, v.Samples)
	}
}

// TestOutputTailRotatedBeforeFirstPoll: a pod that starts with a backlog (a restore from an old snapshot, a
// lease to wait for) can write rotate_bytes and rotate before the harness first polls its output: the tail reads
// the rotated file too, not only the one at the path. (Run "C" of seed 1 lost 2655 events this way: pod 3's
// first output file.)
func TestOutputTailRotatedBeforeFirstPoll(t *testing.T) {
	o := newOutputFixture(t, 5)
	tail := &outputTail{path: o.path, out: outFile, exited: func() bool { return false }}
	defer tail.close()
	if err := tail.poll(o.l, time.Now()); err != nil { // before the output created its file
		t.Fatal(err)
	}
	o.write(0, 1)
	o.rotate()
	o.write(2, 3)
	o.rotate()
	o.write(4)
	if err := tail.poll(o.l, time.Now()); err != nil {
		t.Fatal(err)
	}
	o.checkAllOnce(5)
}

// TestOutputTailRotatedWhileFollowing: the output rotates again while the tail opens its files after a rotation;
// the file that moved from the path to path.1 meanwhile is read all the same.
func TestOutputTailRotatedWhileFollowing(t *testing.T) {
	o := newOutputFixture(t, 4)
	tail := &outputTail{path: o.path, out: outFile, exited: func() bool { return false }}
	defer tail.close()
	poll := func() {
		t.Helper()
		if err := tail.poll(o.l, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	o.write(0)
	poll()
	o.rotate()
	o.write(1, 2) // the file the second rotation moves while the tail opens files
	rotated := false
	tail.opened = func(path string) {
		if path == o.path+".1" && !rotated {
			rotated = true
			o.rotate()
			o.write(3)
		}
	}
	poll()
	poll()
	if !rotated {
		t.Fatal("the tail never opened path.1: the test did not rotate while it followed")
	}
	o.checkAllOnce(4)
}
