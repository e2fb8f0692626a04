package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sources/container/containertest"
)

// dockerShipped is an event of the docker_containers input read back from the file output.
type dockerShipped struct {
	Timestamp string `json:"@timestamp"`
	Message   string `json:"message"`
	Stream    string `json:"stream"`
	Input     struct {
		Type string `json:"type"`
	} `json:"input"`
	Container struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Image struct {
			Name string `json:"name"`
		} `json:"image"`
		Labels map[string]string `json:"labels"`
	} `json:"container"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// dockerMessages tracks what the emulated containers wrote: each message (unique text) with its container and
// stream.
type dockerMessages struct {
	t    *testing.T
	want map[string][2]string // message -> container name, stream
	n    int
}

func (m *dockerMessages) text(c *containertest.Container, size int) string {
	m.n++
	s := fmt.Sprintf("%s-%06d ", c.Name, m.n)
	return s + strings.Repeat(string(rune('a'+m.n%26)), max(0, size-len(s)))
}

// write writes one message of size bytes on stream (dockerd splits those over 16 KiB).
func (m *dockerMessages) write(c *containertest.Container, stream string, size int) {
	m.t.Helper()
	msg := m.text(c, size)
	if err := c.Write(stream, msg); err != nil {
		m.t.Fatal(err)
	}
	m.want[msg] = [2]string{c.Name, stream}
}

// interleave writes a long message on each stream, their partial records alternating.
func (m *dockerMessages) interleave(c *containertest.Container, size int) {
	m.t.Helper()
	out, errs := m.text(c, size), m.text(c, size/2)
	if err := c.Interleave(out, errs); err != nil {
		m.t.Fatal(err)
	}
	m.want[out], m.want[errs] = [2]string{c.Name, "stdout"}, [2]string{c.Name, "stderr"}
}

// check fails for a shipped event that is not a message written (half a message, garbage) or carries the wrong
// metadata, and returns how often each message arrived.
func (m *dockerMessages) check(evs []dockerShipped) map[string]int {
	m.t.Helper()
	counts := make(map[string]int)
	for _, ev := range evs {
		w, ok := m.want[ev.Message]
		switch {
		case !ok:
			m.t.Errorf("shipped a message that was never written whole (%d bytes): %.80q", len(ev.Message), ev.Message)
		case ev.Container.Name != w[0] || ev.Stream != w[1] || len(ev.Container.ID) != 64 ||
			ev.Container.Image.Name != "nginx:1.25" || ev.Input.Type != "container" || ev.Error != nil:
			m.t.Errorf("message %.30q shipped with %+v, want container %s, stream %s", ev.Message, ev, w[0], w[1])
		}
		counts[ev.Message]++
	}
	return counts
}

func (m *dockerMessages) arrived(evs []dockerShipped) bool {
	counts := make(map[string]int)
	for _, ev := range evs {
		counts[ev.Message]++
	}
	for msg := range m.want {
		if counts[msg] == 0 {
			return false
		}
	}
	return true
}

// The emulated dockerd appends, splits long messages into interleaved partial records, rotates, creates and
// removes containers while flicker ships them. A kill -9 while a message is being joined loses nothing and
// ships no half message; a SIGTERM restart ships every message exactly once.
func TestE2EDockerContainers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d, err := containertest.NewDockerd(filepath.Join(dir, "containers"), 8<<10, 3)
	if err != nil {
		t.Fatal(err)
	}
	out, reg := filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "reg.db")
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`docker_containers:
  - name: docker
    path: %q
    exclude_names: ["skip-*"]
    scan_interval: 50ms
    close_inactive: 2s
    clean_removed_after: 1s
    join_timeout: 10m   # the kill -9 comes mid-join: a slow machine must not ship the half first
outputs:
  - type: file
    name: out
    path: %q
batch:
  max_wait: 20ms
`, d.Root, out)), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-c", cfg, "--registry-file", reg, "--log-format", "json"}
	m := &dockerMessages{t: t, want: make(map[string][2]string)}
	events := func() []dockerShipped { return readEvents[dockerShipped](t, out) }
	missing := func() string {
		counts := make(map[string]int)
		for _, ev := range events() {
			counts[ev.Message]++
		}
		var missing []string
		for msg, w := range m.want {
			if counts[msg] == 0 {
				missing = append(missing, fmt.Sprintf("%.20s (%d bytes, %s)", msg, len(msg), w[1]))
			}
		}
		return fmt.Sprintf("missing %q", missing)
	}
	newContainer := func(name string) *containertest.Container {
		c, err := d.Create(name, "nginx:1.25", map[string]string{"app": "shop"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}

	web1, web2 := newContainer("web-1"), newContainer("web-2")
	skipped := newContainer("skip-1")
	if err := skipped.Write("stdout", "never shipped"); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	p := start(t, dir, append(args[:len(args):len(args)], "--http-addr", addr, "--commit-interval", "50ms")...)
	for range 40 { // both rotate (8 KiB) once
		m.write(web1, "stdout", 200)
		m.write(web2, "stderr", 200)
	}
	// dockerd rotates between the records of one message too: such a message is shipped in two parts (see
	// join_timeout and TestDockerMessageCutByRotation). The long messages here are written without rotation.
	d.MaxSize = 0
	m.interleave(web1, 40<<10)
	m.interleave(web2, 20<<10)
	waitArrived(t, "the first messages", m, events, p, missing)

	// Containers come and go while flicker runs.
	web3 := newContainer("web-3")
	m.write(web3, "stdout", 100)
	m.interleave(web3, 50<<10)
	if err := web2.Remove(); err != nil {
		t.Fatal(err)
	}
	waitArrived(t, "the new container's messages", m, events, p, missing)

	// kill -9 while a stdout message of web-1 is being joined: its first piece is read (a stderr message written
	// after it arrived), its other pieces are written only after the crash.
	long := m.text(web1, 40<<10)
	when := time.Date(2024, 5, 1, 10, 0, 1, 500000000, time.UTC)
	pieces := containertest.Records("stdout", long, when)
	if err := web1.Append(pieces[0]); err != nil {
		t.Fatal(err)
	}
	m.write(web1, "stderr", 100)
	waitArrived(t, "the stderr message after the first piece", m, events, p, missing)
	// Every event acknowledged and committed: the position the stderr message carries is in the registry.
	metric := func(name string) float64 { return scrapeMetric(addr, name, "") }
	waitFor(t, 20*time.Second, "every event to be acknowledged", func() bool {
		return metric("flicker_pipeline_events_acknowledged_total") == metric("flicker_pipeline_events_total")
	}, p)
	waitRegistrySettled(t, addr, 300*time.Millisecond, p)
	p.kill()
	for _, r := range pieces[1:] {
		if err := web1.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	m.want[long] = [2]string{"web-1", "stdout"}
	m.write(web3, "stdout", 100)

	p = start(t, dir, args...)
	waitArrived(t, "every message after the kill", m, events, p, missing)
	for _, ev := range events() {
		if ev.Message == long && ev.Timestamp != "2024-05-01T10:00:01.500000000Z" {
			t.Errorf("@timestamp %s, want the first record's time", ev.Timestamp)
		}
	}
	p.stop()
	before := m.check(events())

	// A clean stop, then more messages (rotating again) and a restart: each new message arrives once, no old one
	// again.
	fresh := len(m.want)
	d.MaxSize = 8 << 10
	for range 50 { // web-1's log rotates while flicker is down: the restart finishes the rotated file
		m.write(web1, "stdout", 200)
	}
	d.MaxSize = 0
	for range 5 {
		m.interleave(web3, 20<<10)
	}
	p = start(t, dir, args...)
	waitArrived(t, "the messages after the clean restart", m, events, p, missing)
	p.stop()
	after := m.check(events())
	for msg := range m.want {
		if before[msg] == 0 && after[msg] != 1 {
			t.Errorf("message %.30q written after the clean stop arrived %d times", msg, after[msg])
		}
		if before[msg] > 0 && after[msg] != before[msg] {
			t.Errorf("message %.30q shipped again after a clean stop (%d, then %d times)", msg, before[msg], after[msg])
		}
	}
	if len(m.want) <= fresh {
		t.Fatal("no messages after the clean stop")
	}

	// registry show names the container of each log next to its path.
	show, err := exec.Command(binary, "registry", "show", "--registry-file", reg).CombinedOutput()
	if err != nil || !strings.Contains(string(show), web1.LogPath()+" (web-1)") {
		t.Errorf("registry show (%v) does not name web-1 next to its log:\n%s", err, show)
	}
}

// waitArrived polls until every message written arrived, for at most 20 seconds.
func waitArrived(t *testing.T, what string, m *dockerMessages, events func() []dockerShipped, p *proc, missing func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !m.arrived(events()) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %s; logs:\n%s", what, missing(), p.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// format: docker on log_files decodes a json-file log found anywhere (a sidecar's mount): joined messages with
// their stream and time, a malformed line raw with error.message.
func TestE2ELogFilesFormatDocker(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logPath, out := filepath.Join(dir, "app-json.log"), filepath.Join(dir, "out.jsonl")
	when := time.Date(2024, 5, 1, 10, 0, 1, 0, time.UTC)
	var b []byte
	long := strings.Repeat("z", 20<<10)
	for _, r := range append(containertest.Records("stdout", long, when), []byte("not a record\n")) {
		b = append(b, r...)
	}
	if err := os.WriteFile(logPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, dir, filepath.Join(dir, "*.log"), out, "    format: docker")
	p := start(t, dir, "-c", cfg, "--log-format", "json")
	waitFor(t, 20*time.Second, "two events", func() bool { return len(readEvents[dockerShipped](t, out)) == 2 }, p)
	p.stop()
	evs := readEvents[dockerShipped](t, out)
	if evs[0].Message != long || evs[0].Stream != "stdout" || evs[0].Timestamp != "2024-05-01T10:00:01.000000000Z" {
		t.Errorf("joined message of %d bytes, stream %q, @timestamp %s", len(evs[0].Message), evs[0].Stream, evs[0].Timestamp)
	}
	if evs[1].Message != "not a record" || evs[1].Error == nil || evs[1].Error.Message != "not a JSON object" {
		t.Errorf("malformed line shipped as %+v", evs[1])
	}
	if !strings.Contains(p.stderr.String(), "malformed line shipped as it is") {
		t.Errorf("the malformed line was not logged; logs:\n%s", p.logs())
	}
}
