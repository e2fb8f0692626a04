package container_test

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/sources/container"
	"github.com/flickerlog/flicker/sources/container/containertest"
	"github.com/flickerlog/flicker/sources/file"
)

func newDockerSource(t *testing.T, root string, reg file.Registry, edit func(*container.Config)) *file.Source {
	t.Helper()
	cfg := container.Config{Name: "docker", Path: root, Tailing: container.Tailing{ScanInterval: 20 * time.Millisecond}}
	if edit != nil {
		edit(&cfg)
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	src, err := container.NewDocker(cfg, reg, file.Options{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func newDockerd(t *testing.T, maxSize int64, maxFile int) *containertest.Dockerd {
	t.Helper()
	d, err := containertest.NewDockerd(t.TempDir()+"/containers", maxSize, maxFile)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func create(t *testing.T, d *containertest.Dockerd, name string, labels map[string]string) *containertest.Container {
	t.Helper()
	c, err := d.Create(name, "nginx:1.25", labels)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func appendRecords(t *testing.T, c *containertest.Container, recs ...[]byte) {
	t.Helper()
	for _, r := range recs {
		if err := c.Append(r); err != nil {
			t.Fatal(err)
		}
	}
}

func inodeOf(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// Both streams write messages longer than dockerd's 16 KiB buffer at once: their partial records interleave in
// one file, and each stream's message is joined whole, with its stream, its container and its own time.
func TestDockerJoinsInterleavedPartialRecords(t *testing.T) {
	t.Parallel()
	d := newDockerd(t, 0, 1)
	c := create(t, d, "web-1", map[string]string{"app": "shop"})
	out, errMsg := strings.Repeat("o", 40<<10)+"END", strings.Repeat("e", 20<<10)+"END"
	when := time.Date(2024, 5, 1, 10, 0, 1, 123456789, time.UTC)
	a, b := containertest.Records("stdout", out, when), containertest.Records("stderr", errMsg, when.Add(time.Second))
	if len(a) != 3 || len(b) != 2 {
		t.Fatalf("records: %d and %d", len(a), len(b))
	}
	appendRecords(t, c, a[0], b[0], a[1], b[1], a[2])
	appendRecords(t, c, containertest.Records("stdout", "short", when)...)

	sink := &recSink{}
	run(t, newDockerSource(t, d.Root, newRegistry(), nil), sink)
	waitFor(t, "three messages", func() bool { return len(sink.all()) == 3 })

	meta := fmt.Sprintf(`"container":{"id":%q,"name":"web-1","image":{"name":"nginx:1.25"},"labels":{"app":"shop"}}`, c.ID)
	stdout, stderr := sink.with(`"stream":"stdout"`, meta), sink.with(`"stream":"stderr"`, meta)
	if len(stdout) != 2 || len(stderr) != 1 {
		t.Fatalf("stdout %d, stderr %d events; extras: %q", len(stdout), len(stderr), sink.all()[0].Extra)
	}
	if stdout[0].Message != out || stdout[1].Message != "short" || stderr[0].Message != errMsg {
		t.Errorf("messages not joined whole: lengths %d, %d, %d", len(stdout[0].Message), len(stdout[1].Message),
			len(stderr[0].Message))
	}
	if !stdout[0].Time.Equal(when) || !stderr[0].Time.Equal(when.Add(time.Second)) {
		t.Errorf("@timestamp %v and %v, want the records' %v and %v", stdout[0].Time, stderr[0].Time, when, when.Add(time.Second))
	}
}

// A message being joined holds the position back: an event of the other stream that completes meanwhile never
// carries a position past the start of the unfinished message, so a restart from any committed position
// reads the message whole, never its second half alone.
func TestDockerPositionNeverPassesAnUnfinishedJoin(t *testing.T) {
	t.Parallel()
	d := newDockerd(t, 0, 1)
	c := create(t, d, "web-1", nil)
	when := time.Date(2024, 5, 1, 10, 0, 1, 0, time.UTC)
	appendRecords(t, c, containertest.Records("stdout", "before", when)...)
	fi, _ := os.Stat(c.LogPath())
	joinStart := fi.Size()
	long := strings.Repeat("x", 40<<10)
	pieces := containertest.Records("stdout", long, when)
	appendRecords(t, c, pieces[0])
	appendRecords(t, c, containertest.Records("stderr", "during-1", when)...)
	appendRecords(t, c, pieces[1])
	appendRecords(t, c, containertest.Records("stderr", "during-2", when)...)

	reg := newRegistry()
	sink := &recSink{}
	stop := run(t, newDockerSource(t, d.Root, reg, nil), sink)
	waitFor(t, "the messages around the join", func() bool { return len(sink.all()) == 3 })
	stop() // a crash: the last piece of the stdout message was never read
	for _, e := range sink.all() {
		if e.Pos > joinStart {
			t.Errorf("event %q has position %d, past the start %d of the unfinished message", e.Message, e.Pos, joinStart)
		}
	}
	st, ok := reg.get(inodeOf(t, c.LogPath()))
	if !ok || st.Offset > joinStart {
		t.Fatalf("committed %+v, want at most %d", st, joinStart)
	}

	appendRecords(t, c, pieces[2])
	sink2 := &recSink{}
	run(t, newDockerSource(t, d.Root, reg, nil), sink2)
	waitFor(t, "the stdout message", func() bool { return len(sink2.with(`"stream":"stdout"`)) == 1 })
	for _, e := range sink2.with(`"stream":"stdout"`) {
		if e.Message != long {
			t.Errorf("after the restart a stdout message of %d bytes, want the whole %d", len(e.Message), len(long))
		}
	}
}

// A 1 MiB message is 64 records; it is one event. With a lower max_line_bytes it is cut there and counted, as a
// long line is.
func TestDockerLongMessages(t *testing.T) {
	t.Parallel()
	d := newDockerd(t, 0, 1)
	c := create(t, d, "web-1", nil)
	mib := strings.Repeat("m", 1<<20)
	if err := c.Write("stdout", mib); err != nil {
		t.Fatal(err)
	}
	sink := &recSink{}
	run(t, newDockerSource(t, d.Root, newRegistry(), nil), sink)
	waitFor(t, "the 1 MiB message", func() bool { return len(sink.all()) == 1 })
	if m := sink.all()[0].Message; m != mib {
		t.Errorf("message of %d bytes, want %d", len(m), len(mib))
	}

	d2 := newDockerd(t, 0, 1)
	c2 := create(t, d2, "web-2", nil)
	msg := strings.Repeat("abcdefgh", 250<<10/8)
	if err := c2.Write("stdout", msg); err != nil {
		t.Fatal(err)
	}
	sink2 := &recSink{}
	src := newDockerSource(t, d2.Root, newRegistry(), func(c *container.Config) { c.MaxLineBytes = 100 << 10 })
	run(t, src, sink2)
	waitFor(t, "the cut message", func() bool { return len(sink2.all()) == 3 })
	var joined string
	for _, e := range sink2.all() {
		if len(e.Message) > 100<<10 {
			t.Errorf("event of %d bytes, over max_line_bytes", len(e.Message))
		}
		joined += e.Message
	}
	if joined != msg || src.Stats().LongLinePieces != 2 {
		t.Errorf("pieces join to %d bytes (want %d), %d counted (want 2)", len(joined), len(msg), src.Stats().LongLinePieces)
	}
}

// A line that is not a json-file record is shipped raw with error.message, counted, and the stream goes on.
func TestDockerMalformedLine(t *testing.T) {
	t.Parallel()
	d := newDockerd(t, 0, 1)
	c := create(t, d, "web-1", nil)
	when := time.Date(2024, 5, 1, 10, 0, 1, 0, time.UTC)
	appendRecords(t, c, containertest.Records("stdout", "one", when)...)
	appendRecords(t, c, []byte("garbage written by someone else\n"), []byte(`{"log":"cut`+"\n"))
	appendRecords(t, c, containertest.Records("stdout", "two", when)...)
	other := create(t, d, "web-2", nil)
	appendRecords(t, other, []byte("garbage of web-2\n"))
	sink := &recSink{}
	src := newDockerSource(t, d.Root, newRegistry(), nil)
	run(t, src, sink)
	waitFor(t, "five events", func() bool { return len(sink.all()) == 5 })
	var evs []got
	for _, e := range sink.all() {
		if e.Path == other.LogPath() {
			if !strings.Contains(e.Extra, `"error":{"message":"not a JSON object"},"container":{"id":"`+other.ID) {
				t.Errorf("web-2's malformed line shipped with %s", e.Extra)
			}
			continue
		}
		evs = append(evs, e)
	}
	if evs[0].Message != "one" || evs[3].Message != "two" {
		t.Errorf("messages %q ... %q", evs[0].Message, evs[3].Message)
	}
	if evs[1].Message != "garbage written by someone else" || !strings.Contains(evs[1].Extra, `"error":{"message":"not a JSON object"}`) ||
		!strings.Contains(evs[1].Extra, `"container":{"id":"`+c.ID) {
		t.Errorf("malformed line shipped as %q with %s", evs[1].Message, evs[1].Extra)
	}
	if !strings.Contains(evs[2].Extra, `"error":{"message":"invalid JSON"}`) {
		t.Errorf("cut record shipped with %s", evs[2].Extra)
	}
	if n := src.Stats().Malformed; n != 3 {
		t.Errorf("malformed counted %d times, want 3", n)
	}
}

// dockerd rotates by rename before a record once the log reached max-size; every message written while the
// source reads is shipped once, from .1 and .2 as from the current log.
func TestDockerRotationMidWrite(t *testing.T) {
	t.Parallel()
	d := newDockerd(t, 2048, 3)
	c := create(t, d, "web-1", nil)
	sink := &recSink{}
	run(t, newDockerSource(t, d.Root, newRegistry(), nil), sink)
	const total = 400
	for i := range total {
		if err := c.Write("stdout", fmt.Sprintf("message %04d %s", i, strings.Repeat("r", 60))); err != nil {
			t.Fatal(err)
		}
		if i%10 == 9 { // the emulator deletes the oldest rotation: let the reader keep up
			waitFor(t, "the reader to catch up", func() bool { return len(sink.all()) >= i-10 })
		}
	}
	waitFor(t, "every message", func() bool { return len(sink.all()) >= total })
	seen := make(map[string]int)
	for _, e := range sink.all() {
		seen[e.Message[:12]]++
	}
	for i := range total {
		if k := fmt.Sprintf("message %04d", i); seen[k] != 1 {
			t.Errorf("%s shipped %d times", k, seen[k])
		}
	}
}

// Containers created while the input runs are read within scan_interval; the positions of a removed one are
// forgotten after clean_removed_after.
func TestDockerContainersCreatedAndRemoved(t *testing.T) {
	t.Parallel()
	d := newDockerd(t, 0, 1)
	a := create(t, d, "first", nil)
	if err := a.Write("stdout", "from first"); err != nil {
		t.Fatal(err)
	}
	reg := newRegistry()
	sink := &recSink{}
	run(t, newDockerSource(t, d.Root, reg, func(c *container.Config) { c.CleanRemovedAfter = 100 * time.Millisecond }), sink)
	waitFor(t, "the first container", func() bool { return len(sink.with(`"name":"first"`)) == 1 })

	b := create(t, d, "second", nil)
	if err := b.Write("stderr", "from second"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second container", func() bool { return len(sink.with(`"name":"second"`, `"stream":"stderr"`)) == 1 })

	ino := inodeOf(t, a.LogPath())
	waitFor(t, "the first's position", func() bool { _, ok := reg.get(ino); return ok })
	if err := a.Remove(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the removed container's position to be forgotten", func() bool { _, ok := reg.get(ino); return !ok })
}

// include_names, exclude_names (on the name without its slash), include_labels and streams choose what is read.
func TestDockerFilters(t *testing.T) {
	t.Parallel()
	d := newDockerd(t, 0, 1)
	for _, c := range []struct{ name, app string }{{"web-1", "shop"}, {"web-2", "shop"}, {"web-3", "blog"}, {"db-1", "shop"}} {
		ct := create(t, d, c.name, map[string]string{"app": c.app, "tier": "x"})
		for _, stream := range []string{"stdout", "stderr"} {
			if err := ct.Write(stream, c.name+" "+stream); err != nil {
				t.Fatal(err)
			}
		}
	}
	sink := &recSink{}
	src := newDockerSource(t, d.Root, newRegistry(), func(c *container.Config) {
		c.IncludeNames, c.ExcludeNames = []string{"web-*"}, []string{"web-2"}
		c.IncludeLabels, c.Streams = map[string]string{"app": "shop"}, []string{"stderr"}
	})
	run(t, src, sink)
	waitFor(t, "web-1's stderr", func() bool { return len(sink.all()) >= 1 })
	// Every log was there at the first scan: one the filters admitted would be tracked (and read) now.
	if st := src.Stats(); st.FilesTracked != 1 || st.Lines != 2 {
		t.Errorf("%d files tracked, %d lines read; want web-1's log alone, both its lines", st.FilesTracked, st.Lines)
	}
	var msgs []string
	for _, e := range sink.all() {
		msgs = append(msgs, e.Message)
	}
	if len(msgs) != 1 || msgs[0] != "web-1 stderr" {
		t.Errorf("shipped %q, want only web-1's stderr", msgs)
	}
}

// multiline applies to the joined messages of one stream: the other stream's lines in between do not break a
// stack trace.
func TestDockerMultilinePerStream(t *testing.T) {
	t.Parallel()
	d := newDockerd(t, 0, 1)
	c := create(t, d, "web-1", nil)
	when := time.Date(2024, 5, 1, 10, 0, 1, 0, time.UTC)
	for _, r := range []struct{ stream, msg string }{
		{"stderr", "Exception in main"}, {"stdout", "GET /a"}, {"stderr", "  at a.b(c.java:1)"},
		{"stdout", "GET /b"}, {"stderr", "  at d.e(f.java:2)"}, {"stderr", "next error"},
	} {
		appendRecords(t, c, containertest.Records(r.stream, r.msg, when)...)
	}
	sink := &recSink{}
	run(t, newDockerSource(t, d.Root, newRegistry(), func(c *container.Config) {
		c.Multiline = &file.MultilineConfig{Pattern: `^\s`, Timeout: 100 * time.Millisecond}
	}), sink)
	waitFor(t, "five events", func() bool { return len(sink.all()) == 4 })
	errs := sink.with(`"stream":"stderr"`)
	if len(errs) != 2 || errs[0].Message != "Exception in main\n  at a.b(c.java:1)\n  at d.e(f.java:2)" || errs[1].Message != "next error" {
		t.Errorf("stderr events %+v", errs)
	}
}

// Two joins overlap: stdout's message starts, stderr's starts, stdout's completes. The committed position stays
// at the start of stdout's message, not at that of stderr's unfinished one (which lies inside stdout's message):
// a restart reads stdout's message again, whole, never its last piece alone.
func TestDockerPositionNeverSplitsAFinishedMessage(t *testing.T) {
	t.Parallel()
	d := newDockerd(t, 0, 1)
	c := create(t, d, "web-1", nil)
	when := time.Date(2024, 5, 1, 10, 0, 1, 0, time.UTC)
	long := strings.Repeat("x", 20<<10)
	out, errs := containertest.Records("stdout", long, when), containertest.Records("stderr", long, when)
	appendRecords(t, c, out[0], errs[0], out[1])

	reg := newRegistry()
	sink := &recSink{}
	stop := run(t, newDockerSource(t, d.Root, reg, nil), sink)
	waitFor(t, "the stdout message", func() bool { return len(sink.all()) == 1 })
	stop()
	if e := sink.all()[0]; e.Message != long || e.Pos != 0 {
		t.Errorf("stdout message of %d bytes with position %d, want %d bytes at position 0", len(e.Message), e.Pos, len(long))
	}

	appendRecords(t, c, errs[1])
	sink2 := &recSink{}
	run(t, newDockerSource(t, d.Root, reg, nil), sink2)
	waitFor(t, "both messages", func() bool { return len(sink2.all()) == 2 })
	for _, e := range sink2.all() {
		if e.Message != long {
			t.Errorf("after the restart a %s message of %d bytes, want the whole %d", e.Extra, len(e.Message), len(long))
		}
	}
}

// dockerd checks max-size before every record, so a long message can be cut by a rotation: its first records
// end the rotated file, the others begin the new one. Nothing is lost: the new file's part ships as a message of
// its own, the rotated file's part once join_timeout (file.DefaultJoinTimeout) passed without its next record.
func TestDockerMessageCutByRotation(t *testing.T) {
	t.Parallel()
	d := newDockerd(t, 20<<10, 3)
	c := create(t, d, "web-1", nil)
	msg := strings.Repeat("h", 32<<10) + strings.Repeat("t", 8<<10)
	if err := c.Write("stdout", msg); err != nil { // 16 KiB, 16 KiB, rotation, 8 KiB
		t.Fatal(err)
	}
	if _, err := os.Stat(c.LogPath() + ".1"); err != nil {
		t.Fatalf("no rotation: %v", err)
	}
	var skew atomic.Int64 // the source's clock runs ahead by this much
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	cfg := container.Config{Name: "docker", Path: d.Root, Tailing: container.Tailing{ScanInterval: 20 * time.Millisecond}}
	cfg.SetDefaults()
	src, err := container.NewDocker(cfg, newRegistry(), file.Options{Now: now}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	sink := &recSink{}
	run(t, src, sink)
	waitFor(t, "the new file's part", func() bool { return len(sink.all()) == 1 })
	if m := sink.all()[0].Message; m != msg[32<<10:] {
		t.Fatalf("first event of %d bytes, want the new file's %d", len(m), 8<<10)
	}
	skew.Store(int64(file.DefaultJoinTimeout + time.Second))
	waitFor(t, "the rotated file's part", func() bool { return len(sink.all()) == 2 })
	if m := sink.all()[1].Message; m != msg[:32<<10] {
		t.Errorf("second event of %d bytes, want the rotated file's %d", len(m), 32<<10)
	}
}

// config.v2.json is read again when it changes (docker rename): the lines read after that carry the new name.
func TestDockerRenameRefreshesMetadata(t *testing.T) {
	t.Parallel()
	d := newDockerd(t, 0, 1)
	c := create(t, d, "before", nil)
	if err := c.Write("stdout", "first"); err != nil {
		t.Fatal(err)
	}
	sink := &recSink{}
	run(t, newDockerSource(t, d.Root, newRegistry(), nil), sink)
	waitFor(t, "the first message", func() bool { return len(sink.with(`"name":"before"`)) == 1 })
	if err := c.Rename("after"); err != nil {
		t.Fatal(err)
	}
	// The new name applies from the next scan on: write until a message carries it, then every later one must.
	for i := 0; len(sink.with(`"name":"after"`)) == 0; i++ {
		if i == 200 {
			t.Fatal("no message carries the new name")
		}
		if err := c.Write("stdout", fmt.Sprintf("message %d", i)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the message", func() bool { return len(sink.all()) == i+2 })
	}
	if err := c.Write("stdout", "last"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the last message", func() bool { return len(sink.with(`"name":"after"`, `"stream":"stdout"`)) >= 2 })
	evs := sink.all()
	if last := evs[len(evs)-1]; last.Message != "last" || !strings.Contains(last.Extra, `"name":"after"`) {
		t.Errorf("last event %q with %s", last.Message, last.Extra)
	}
}
