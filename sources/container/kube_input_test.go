package container_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/sources/container"
	"github.com/flickerlog/flicker/sources/container/containertest"
	"github.com/flickerlog/flicker/sources/file"
)

func newKubeSource(t *testing.T, root string, reg file.Registry, edit func(*container.KubeConfig)) *container.Kubernetes {
	t.Helper()
	cfg := container.KubeConfig{Name: "pods", Path: root, Tailing: container.Tailing{ScanInterval: 20 * time.Millisecond}}
	if edit != nil {
		edit(&cfg)
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	src, err := container.NewKubernetes(cfg, reg, file.Options{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func newKubelet(t *testing.T, cfg containertest.KubeletConfig) *containertest.Kubelet {
	t.Helper()
	k, err := containertest.NewKubelet(t.TempDir()+"/pods", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.Close() })
	return k
}

func startContainer(t *testing.T, k *containertest.Kubelet, ns, pod, name string) *containertest.PodContainer {
	t.Helper()
	_, c := startPod(t, k, ns, pod, name)
	return c
}

func startPod(t *testing.T, k *containertest.Kubelet, ns, pod, name string) (*containertest.Pod, *containertest.PodContainer) {
	t.Helper()
	p, err := k.AddPod(ns, pod, "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.StartContainer(name)
	if err != nil {
		t.Fatal(err)
	}
	return p, c
}

// appendRaw appends text to the file at path as someone other than the runtime would.
func appendRaw(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, c *containertest.PodContainer, lines ...containertest.Line) {
	t.Helper()
	if _, err := c.Write(lines...); err != nil {
		t.Fatal(err)
	}
}

// kubeMeta is the kubernetes member an event of log must carry.
func kubeMeta(log container.PodLog) string {
	return fmt.Sprintf(`,"kubernetes":{"namespace":%q,"pod":{"name":%q,"uid":%q},"container":{"name":%q,"restart_count":%d}}`,
		log.Namespace, log.Pod, log.PodUID, log.Container, log.RestartCount)
}

// checkDelivered checks that every complete message the kubelet wrote was shipped exactly once (at least once
// with atLeast), joined whole, with its stream, time and metadata, and nothing else was shipped.
func checkDelivered(t *testing.T, k *containertest.Kubelet, events []got, atLeast bool) {
	t.Helper()
	key := func(text, extra string) string { return text + "\x00" + extra }
	want := make(map[string]int)
	times := make(map[string]time.Time)
	for _, m := range k.Messages() {
		if !m.Partial {
			kk := key(m.Text, `,"stream":"`+m.Stream.String()+`"`+kubeMeta(m.Log))
			want[kk]++
			times[kk] = m.Time
		}
	}
	seen := make(map[string]int)
	for _, e := range events {
		kk := key(e.Message, e.Extra)
		seen[kk]++
		if tm, ok := times[kk]; ok && !tm.Equal(e.Time) {
			t.Errorf("message %.40q: @timestamp %v, want its first record's %v", e.Message, e.Time, tm)
		}
	}
	for kk, n := range want {
		if got := seen[kk]; got < n || (!atLeast && got != n) {
			t.Errorf("message %.60q shipped %d times, want %d", kk, got, n)
		}
	}
	for kk := range seen {
		if want[kk] == 0 {
			t.Errorf("shipped %.80q, which the kubelet never wrote whole", kk)
		}
	}
}

func runtimes() []containertest.Runtime {
	return []containertest.Runtime{containertest.Containerd, containertest.CRIO}
}

// Both streams print lines longer than a record at once: the runtime's P records interleave in one file, and
// each stream's message is joined whole, with its stream, its time and the pod's metadata.
func TestKubernetesJoinsInterleavedPartialRecords(t *testing.T) {
	t.Parallel()
	for _, rt := range runtimes() {
		t.Run(rt.String(), func(t *testing.T) {
			t.Parallel()
			zone := time.FixedZone("", 5*3600+45*60)
			k := newKubelet(t, containertest.KubeletConfig{Runtime: rt, Zone: zone})
			c := startContainer(t, k, "shop", "web-7d9f-abcde", "nginx")
			write(t, c, containertest.Stdout(strings.Repeat("o", 40<<10)+"END"), containertest.Stderr(strings.Repeat("e", 20<<10)+"END"),
				containertest.Stdout("short"))
			sink := &recSink{}
			run(t, newKubeSource(t, k.Dir(), newRegistry(), nil), sink)
			waitFor(t, "three messages", func() bool { return len(sink.all()) == 3 })
			checkDelivered(t, k, sink.all(), false)
		})
	}
}

// A line holding "\r\n" ships without its "\r" whether the runtime stripped it (containerd) or kept it (CRI-O):
// the decoder drops one final "\r" of a message; a "\r" inside it stays, also where a record ends (the line
// layer trims a plain line's "\r", not a container record's).
func TestKubernetesDropsFinalCarriageReturn(t *testing.T) {
	t.Parallel()
	k := newKubelet(t, containertest.KubeletConfig{Runtime: containertest.CRIO, MaxRecord: 8})
	c := startContainer(t, k, "shop", "web", "app")
	write(t, c, containertest.Stdout("windows line\r"), containertest.Stdout("a\rb"), containertest.Stdout("1234567\rabc"))
	sink := &recSink{}
	run(t, newKubeSource(t, k.Dir(), newRegistry(), nil), sink)
	waitFor(t, "three messages", func() bool { return len(sink.all()) == 3 })
	if evs := sink.all(); evs[0].Message != "windows line" || evs[1].Message != "a\rb" || evs[2].Message != "1234567\rabc" {
		t.Errorf("messages %q, %q, %q", evs[0].Message, evs[1].Message, evs[2].Message)
	}
}

// A 1 MiB line (max_line_bytes' default) is joined from its records into one event.
func TestKubernetesMessageOfOneMiB(t *testing.T) {
	t.Parallel()
	k := newKubelet(t, containertest.KubeletConfig{})
	c := startContainer(t, k, "shop", "web", "app")
	long := strings.Repeat("0123456789abcdef", (1<<20)/16)
	write(t, c, containertest.Stdout(long), containertest.Stderr("after"))
	sink := &recSink{}
	run(t, newKubeSource(t, k.Dir(), newRegistry(), nil), sink)
	waitFor(t, "two messages", func() bool { return len(sink.all()) == 2 })
	checkDelivered(t, k, sink.all(), false)
}

// A line that is not a CRI record is shipped raw with error.message and its container's metadata, counted, and
// the stream goes on.
func TestKubernetesMalformedLine(t *testing.T) {
	t.Parallel()
	k := newKubelet(t, containertest.KubeletConfig{})
	c := startContainer(t, k, "shop", "web", "app")
	write(t, c, containertest.Stdout("one"))
	appendRaw(t, c.Path(), "garbage written by someone else\n2024-01-02T03:04:05Z stdin F x\n")
	write(t, c, containertest.Stdout("two"))
	sink := &recSink{}
	src := newKubeSource(t, k.Dir(), newRegistry(), nil)
	run(t, src, sink)
	waitFor(t, "four events", func() bool { return len(sink.all()) == 4 })
	evs := sink.all()
	meta := kubeMeta(c.Log())
	if evs[0].Message != "one" || evs[3].Message != "two" {
		t.Errorf("messages %q ... %q", evs[0].Message, evs[3].Message)
	}
	if evs[1].Message != "garbage written by someone else" ||
		evs[1].Extra != `,"error":{"message":"cri line: time at byte 0: want an RFC 3339 time: want a digit in \"garbage\""}`+meta {
		t.Errorf("malformed line shipped as %q with %s", evs[1].Message, evs[1].Extra)
	}
	if !strings.Contains(evs[2].Extra, `cri line: stream at byte 21: want stdout or stderr, found \"stdin\"`) {
		t.Errorf("bad stream shipped with %s", evs[2].Extra)
	}
	if n := src.Stats().Malformed; n != 2 {
		t.Errorf("malformed counted %d times, want 2", n)
	}
}

// The kubelet renames the live log to <n>.log.<stamp> and the runtime reopens <n>.log; lines written in between
// land in the rotated file, and a line cut by the rotation (its first records before it, the rest after)
// continues in the new file. Every message is shipped once.
func TestKubernetesRotationMidWrite(t *testing.T) {
	t.Parallel()
	for _, rt := range runtimes() {
		t.Run(rt.String(), func(t *testing.T) {
			t.Parallel()
			k := newKubelet(t, containertest.KubeletConfig{Runtime: rt, MaxRecord: 64, MaxFiles: 3, Compress: true})
			c := startContainer(t, k, "shop", "web", "app")
			sink := &recSink{}
			run(t, newKubeSource(t, k.Dir(), newRegistry(), nil), sink)
			n := 0
			for round := range 8 {
				for range 20 {
					write(t, c, containertest.Stdout(fmt.Sprintf("message %04d %s", n, strings.Repeat("r", 100))),
						containertest.Stderr(fmt.Sprintf("err %04d", n)))
					n++
				}
				if _, err := c.Rotate(containertest.Stdout(fmt.Sprintf("in the window %d", round))); err != nil {
					t.Fatal(err)
				}
				// The kubelet compresses and deletes old rotations: let the reader keep up.
				waitFor(t, "the reader to catch up", func() bool { return len(sink.all()) >= 2*n+round+1 })
			}
			waitFor(t, "every message", func() bool { return len(sink.all()) >= 2*n+8 })
			checkDelivered(t, k, sink.all(), false)
		})
	}
}

// Pods created while the input runs are read within scan_interval, a restarted container's next log
// (<n+1>.log) too, with its restart count; the positions of a removed pod are forgotten after
// clean_removed_after.
func TestKubernetesPodsCreatedRestartedAndRemoved(t *testing.T) {
	t.Parallel()
	k := newKubelet(t, containertest.KubeletConfig{})
	pod, a := startPod(t, k, "shop", "first", "app")
	write(t, a, containertest.Stdout("from first"))
	reg := newRegistry()
	sink := &recSink{}
	run(t, newKubeSource(t, k.Dir(), reg, func(c *container.KubeConfig) { c.CleanRemovedAfter = 100 * time.Millisecond }), sink)
	waitFor(t, "the first pod", func() bool { return len(sink.with(`"name":"first"`)) == 1 })

	b := startContainer(t, k, "blog", "second", "app")
	write(t, b, containertest.Stderr("from second"))
	waitFor(t, "the second pod", func() bool { return len(sink.with(`"name":"second"`, `"stream":"stderr"`)) == 1 })

	b1, err := b.Restart()
	if err != nil {
		t.Fatal(err)
	}
	write(t, b1, containertest.Stdout("second, restarted"))
	waitFor(t, "the restarted container", func() bool { return len(sink.with(`"restart_count":1`)) == 1 })
	checkDelivered(t, k, sink.all(), false)

	ino := inodeOf(t, a.Path())
	waitFor(t, "the first's position", func() bool { _, ok := reg.get(ino); return ok })
	if err := k.RemovePod(pod); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the removed pod's position to be forgotten", func() bool { _, ok := reg.get(ino); return !ok })
}

// include_namespaces and exclude_namespaces (globs) and streams choose what is read; stray files in the pods
// directory and the kubelet's compressed rotations are not read.
func TestKubernetesFilters(t *testing.T) {
	t.Parallel()
	k := newKubelet(t, containertest.KubeletConfig{})
	for _, ns := range []string{"team-a", "team-b", "kube-system", "other"} {
		c := startContainer(t, k, ns, "pod", "app")
		write(t, c, containertest.Stdout(ns+" stdout"), containertest.Stderr(ns+" stderr"))
	}
	appendRaw(t, k.Dir()+"/stray.log", "2024-01-02T03:04:05Z stdout F stray\n")
	sink := &recSink{}
	src := newKubeSource(t, k.Dir(), newRegistry(), func(c *container.KubeConfig) {
		c.IncludeNamespaces, c.ExcludeNamespaces, c.Streams = []string{"team-*", "kube-system"}, []string{"kube-*", "team-b"}, []string{"stderr"}
	})
	run(t, src, sink)
	waitFor(t, "team-a's stderr", func() bool { return len(sink.all()) >= 1 })
	// Every log was there at the first scan: one the filters admitted would be tracked (and read) now.
	if st := src.Stats(); st.FilesTracked != 1 || st.Lines != 2 {
		t.Errorf("%d files tracked, %d lines read; want team-a's log alone, both its lines", st.FilesTracked, st.Lines)
	}
	if evs := sink.all(); len(evs) != 1 || evs[0].Message != "team-a stderr" {
		t.Errorf("shipped %+v, want only team-a's stderr", evs)
	}
}

// format: cri on log_files decodes CRI lines from any path, and format: auto tells a CRI log from a json-file
// log and from plain lines by each file's first line.
func TestLogFilesFormatCRIAndAuto(t *testing.T) {
	t.Parallel()
	k := newKubelet(t, containertest.KubeletConfig{Runtime: containertest.CRIO})
	c := startContainer(t, k, "shop", "web", "app")
	long := strings.Repeat("c", 20<<10)
	write(t, c, containertest.Stdout(long))
	for _, format := range []string{"cri", "auto"} {
		t.Run(format, func(t *testing.T) {
			cfg := file.Config{Name: "side", Paths: []string{c.Path()}, Format: format, ScanInterval: 20 * time.Millisecond}
			cfg.SetDefaults()
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			src, err := file.New(cfg, newRegistry(), file.Options{Formats: container.Formats()}, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			sink := &recSink{}
			stop := run(t, src, sink)
			waitFor(t, "the message", func() bool { return len(sink.all()) == 1 })
			stop()
			if e := sink.all()[0]; e.Message != long || e.Extra != `,"stream":"stdout"` || !e.Time.Equal(k.Messages()[0].Time) {
				t.Errorf("event of %d bytes with %s at %v", len(e.Message), e.Extra, e.Time)
			}
		})
	}
}

// A message being joined holds the position back: the other stream's events that complete meanwhile never carry
// a position past the start of its first P record, so a restart from any committed position reads it whole.
func TestKubernetesPositionNeverPassesAnUnfinishedJoin(t *testing.T) {
	t.Parallel()
	k := newKubelet(t, containertest.KubeletConfig{Runtime: containertest.CRIO})
	c := startContainer(t, k, "shop", "web", "app")
	write(t, c, containertest.Stdout("before"))
	fi, err := os.Stat(c.Path())
	if err != nil {
		t.Fatal(err)
	}
	joinStart := fi.Size()
	write(t, c, containertest.Line{Stream: container.StreamStdout, Text: strings.Repeat("x", 20<<10), Unterminated: true})
	write(t, c, containertest.Stderr("during-1"), containertest.Stderr("during-2"))
	sink := &recSink{}
	stop := run(t, newKubeSource(t, k.Dir(), newRegistry(), nil), sink)
	waitFor(t, "three events", func() bool { return len(sink.all()) == 3 })
	write(t, c, containertest.Stdout("the end"))
	waitFor(t, "the joined message", func() bool { return len(sink.all()) == 4 })
	stop()
	fi, err = os.Stat(c.Path())
	if err != nil {
		t.Fatal(err)
	}
	evs := sink.all()
	for _, e := range evs[1:3] {
		if e.Pos > joinStart {
			t.Errorf("%s carries position %d, past the unfinished message's start %d", e.Message, e.Pos, joinStart)
		}
	}
	if last := evs[3]; last.Message != strings.Repeat("x", 20<<10)+"the end" || last.Pos != fi.Size() {
		t.Errorf("joined message of %d bytes at position %d, want the file's end %d", len(last.Message), last.Pos, fi.Size())
	}
}

// A log the kubelet rotated while flicker was down is finished after the restart, found by its identity under
// its rotated name, and the new live log is read from its start: every message once.
func TestKubernetesFinishesRotatedFileAfterRestart(t *testing.T) {
	t.Parallel()
	k := newKubelet(t, containertest.KubeletConfig{Runtime: containertest.CRIO})
	c := startContainer(t, k, "shop", "web", "app")
	write(t, c, containertest.Stdout("first"))
	reg := newRegistry()
	sink := &recSink{}
	stop := run(t, newKubeSource(t, k.Dir(), reg, nil), sink)
	waitFor(t, "the first message", func() bool { return len(sink.all()) == 1 })
	ino := inodeOf(t, c.Path())
	waitFor(t, "its position", func() bool { st, ok := reg.get(ino); return ok && st.Offset > 0 })
	stop()
	write(t, c, containertest.Stdout("before the rotation"), containertest.Stderr(strings.Repeat("l", 20<<10)))
	if _, err := c.Rotate(containertest.Stdout("in the window")); err != nil {
		t.Fatal(err)
	}
	write(t, c, containertest.Stdout("after the rotation"))
	run(t, newKubeSource(t, k.Dir(), reg, nil), sink)
	waitFor(t, "five messages", func() bool { return len(sink.all()) >= 5 })
	checkDelivered(t, k, sink.all(), false)
}
