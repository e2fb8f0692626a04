package container_test

import (
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sources/container"
	"github.com/flickerlog/flicker/sources/container/containertest"
)

// max_line_bytes "caps a joined message, as a line of log_files". Set to dockerd's own 16 KiB buffer, a 20 KiB
// message must arrive as content pieces of at most 16 KiB that join back to the message, not as raw JSON
// fragments shipped as malformed lines.
func TestDockerMaxLineBytesCutsMessagesNotRecords(t *testing.T) {
	t.Parallel()
	d := newDockerd(t, 0, 1)
	c := create(t, d, "web-1", nil)
	msg := strings.Repeat("a", 20<<10)
	if err := c.Write("stdout", msg); err != nil {
		t.Fatal(err)
	}
	sink := &recSink{}
	src := newDockerSource(t, d.Root, newRegistry(), func(c *container.Config) { c.MaxLineBytes = 16 << 10 })
	run(t, src, sink)
	waitFor(t, "the message", func() bool {
		n := 0
		for _, e := range sink.all() {
			n += len(e.Message)
		}
		return n >= len(msg)
	})
	var joined string
	for _, e := range sink.all() {
		if strings.Contains(e.Extra, `"error"`) {
			t.Errorf("event shipped as malformed: %.60q... with %s", e.Message, e.Extra)
		}
		joined += e.Message
	}
	if joined != msg {
		t.Errorf("events join to %d bytes starting %.40q, want the %d-byte message", len(joined), joined, len(msg))
	}
	if n := src.Stats().Malformed; n != 0 {
		t.Errorf("%d lines counted malformed", n)
	}
}

// containerd with max_container_log_line_size = -1 writes a long line as one F record. With the default
// max_line_bytes (1 MiB) a 1.5 MiB line is cut at the raw level: the first piece decodes as a whole message, the
// second has no CRI header and ships as a malformed line with an error.
func TestCRIUnsplitLineLongerThanMaxLineBytes(t *testing.T) {
	t.Parallel()
	k := newKubelet(t, containertest.KubeletConfig{MaxRecord: -1})
	c := startContainer(t, k, "shop", "web", "app")
	long := strings.Repeat("0123456789abcdef", (3<<19)/16)
	write(t, c, containertest.Stdout(long))
	sink := &recSink{}
	src := newKubeSource(t, k.Dir(), newRegistry(), nil)
	run(t, src, sink)
	waitFor(t, "the message", func() bool {
		n := 0
		for _, e := range sink.all() {
			n += len(e.Message)
		}
		return n >= len(long)
	})
	var joined string
	for _, e := range sink.all() {
		if strings.Contains(e.Extra, `"error"`) {
			t.Errorf("piece of %d bytes shipped as malformed with %.120s", len(e.Message), e.Extra)
		}
		joined += e.Message
	}
	if joined != long {
		t.Errorf("events join to %d bytes, want the %d-byte line", len(joined), len(long))
	}
	if n := src.Stats().Malformed; n != 0 {
		t.Errorf("%d lines counted malformed", n)
	}
}

// One dockerd record whose message, unescaped, is longer than max_line_bytes ships as messages of max_line_bytes
// in order, each with an id of its own (distinct offsets), none malformed, and a restart resumes after the
// record: nothing of it is sent again.
func TestDockerRecordLongerThanMaxLineBytes(t *testing.T) {
	t.Parallel()
	d := newDockerd(t, 0, 1)
	c := create(t, d, "web-1", nil)
	msg := strings.Repeat(`say "hi" `, 1300) // 11,700 bytes, escaped quotes: unescaped into the output arena
	when := time.Date(2024, 5, 1, 10, 0, 1, 0, time.UTC)
	appendRecords(t, c, containertest.Records("stdout", msg, when)...)
	appendRecords(t, c, containertest.Records("stdout", "after", when)...)
	reg := newRegistry()
	sink := &recSink{}
	stop := run(t, newDockerSource(t, d.Root, reg, func(c *container.Config) { c.MaxLineBytes = 5000 }), sink)
	waitFor(t, "the message after", func() bool { return len(sink.with()) == 4 })
	stop()
	evs := sink.all()
	offsets := map[int64]bool{}
	var joined string
	for i, e := range evs[:3] {
		if want := min(5000, len(msg)-5000*i); len(e.Message) != want || strings.Contains(e.Extra, `"error"`) {
			t.Errorf("piece %d: %d bytes (want %d) with %s", i, len(e.Message), want, e.Extra)
		}
		offsets[e.Offset] = true
		joined += e.Message
	}
	if joined != msg || evs[3].Message != "after" || len(offsets) != 3 {
		t.Errorf("pieces join to %d bytes (want %d), then %q; %d distinct offsets, want 3", len(joined), len(msg),
			evs[3].Message, len(offsets))
	}

	sink2 := &recSink{}
	appendRecords(t, c, containertest.Records("stdout", "later", when)...)
	run(t, newDockerSource(t, d.Root, reg, func(c *container.Config) { c.MaxLineBytes = 5000 }), sink2)
	waitFor(t, "the message written after the restart", func() bool { return len(sink2.all()) >= 1 })
	if got := sink2.all(); len(got) != 1 || got[0].Message != "later" {
		t.Errorf("after the restart: %d events, first %.20q; want only \"later\"", len(got), got[0].Message)
	}
}
