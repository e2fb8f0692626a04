package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sources/container"
	"github.com/flickerlog/flicker/sources/container/containertest"
)

// kubeShipped is an event of the kubernetes input read back from the file output.
type kubeShipped struct {
	Timestamp string `json:"@timestamp"`
	Message   string `json:"message"`
	Stream    string `json:"stream"`
	Input     struct {
		Type string `json:"type"`
	} `json:"input"`
	Kubernetes struct {
		Namespace string `json:"namespace"`
		Pod       struct {
			Name string `json:"name"`
			UID  string `json:"uid"`
		} `json:"pod"`
		Container struct {
			Name         string `json:"name"`
			RestartCount int    `json:"restart_count"`
		} `json:"container"`
	} `json:"kubernetes"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// kubeKey identifies a message with all it must be shipped with.
func kubeKey(text, stream string, log container.PodLog) string {
	return fmt.Sprintf("%s|%s|%s|%s|%s|%d|%s", log.Namespace, log.Pod, log.PodUID, log.Container, stream, log.RestartCount, text)
}

func (ev kubeShipped) key() string {
	k := ev.Kubernetes
	return kubeKey(ev.Message, ev.Stream, container.PodLog{Namespace: k.Namespace, Pod: k.Pod.Name, PodUID: k.Pod.UID,
		Container: k.Container.Name, RestartCount: k.Container.RestartCount})
}

// kubeWant is every complete message the kubelet wrote outside kube-system (which the tests exclude), by key,
// with its time.
func kubeWant(k *containertest.Kubelet) map[string]time.Time {
	want := make(map[string]time.Time)
	for _, m := range k.Messages() {
		if !m.Partial && m.Log.Namespace != "kube-system" {
			want[kubeKey(m.Text, m.Stream.String(), m.Log)] = m.Time
		}
	}
	return want
}

// kubeCounts counts the shipped events by key and fails for one that is not a complete message the kubelet
// wrote (half a message, wrong metadata) or has the wrong time.
func kubeCounts(t *testing.T, k *containertest.Kubelet, evs []kubeShipped) map[string]int {
	t.Helper()
	want := kubeWant(k)
	counts := make(map[string]int)
	for _, ev := range evs {
		when, ok := want[ev.key()]
		switch {
		case !ok:
			t.Errorf("shipped a message never written whole with that metadata (%d bytes): %.100q", len(ev.Message), ev.key())
		case ev.Input.Type != "kubernetes" || ev.Error != nil || ev.Timestamp != when.UTC().Format("2006-01-02T15:04:05.000000000Z"):
			t.Errorf("message %.40q shipped with %+v, want its first record's time %v", ev.Message, ev, when.UTC())
		}
		counts[ev.key()]++
	}
	return counts
}

// The emulated kubelet appends, splits long lines into interleaved P records, rotates, creates and removes
// pods and restarts containers while flicker ships them. A kill -9 while a message is being joined loses
// nothing and ships no half message; a SIGTERM restart ships every message exactly once.
func TestE2EKubernetes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k, err := containertest.NewKubelet(filepath.Join(dir, "pods"), containertest.KubeletConfig{MaxRecord: 4 << 10, MaxFiles: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.Close() })
	out, reg := filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "reg.db")
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`kubernetes:
  - name: pods
    path: %q
    exclude_namespaces: [kube-system]
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
`, k.Dir(), out)), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-c", cfg, "--registry-file", reg, "--log-format", "json"}
	events := func() []kubeShipped { return readEvents[kubeShipped](t, out) }
	n := 0
	text := func(size int) string {
		n++
		s := fmt.Sprintf("message-%06d ", n)
		return s + strings.Repeat(string(rune('a'+n%26)), max(0, size-len(s)))
	}
	newPod := func(ns, name string) (*containertest.Pod, *containertest.PodContainer) {
		pod, err := k.AddPod(ns, name, "")
		if err != nil {
			t.Fatal(err)
		}
		c, err := pod.StartContainer("app")
		if err != nil {
			t.Fatal(err)
		}
		return pod, c
	}
	write := func(c *containertest.PodContainer, lines ...containertest.Line) {
		t.Helper()
		if _, err := c.Write(lines...); err != nil {
			t.Fatal(err)
		}
	}
	rotate := func(c *containertest.PodContainer, window ...containertest.Line) {
		t.Helper()
		if _, err := c.Rotate(window...); err != nil {
			t.Fatal(err)
		}
	}
	var p *proc
	arrived := func(what string) {
		t.Helper()
		want := kubeWant(k)
		waitFor(t, 20*time.Second, what, func() bool {
			got := make(map[string]bool)
			for _, ev := range events() {
				got[ev.key()] = true
			}
			for key := range want {
				if !got[key] {
					return false
				}
			}
			return true
		}, p)
	}

	_, web1 := newPod("shop", "web-1")
	pod2, web2 := newPod("shop", "web-2")
	_, skipped := newPod("kube-system", "coredns")
	write(skipped, containertest.Stdout("never shipped"))
	addr := freeAddr(t)
	p = start(t, dir, append(args[:len(args):len(args)], "--http-addr", addr, "--commit-interval", "50ms")...)
	for i := range 40 {
		write(web1, containertest.Stdout(text(200)))
		write(web2, containertest.Stderr(text(200)))
		if i == 20 { // the kubelet rotates; the runtime writes in the window before it reopens
			rotate(web1, containertest.Stdout(text(100)))
		}
	}
	// Long lines on both streams: their P records interleave.
	write(web1, containertest.Stdout(text(40<<10)), containertest.Stderr(text(20<<10)))
	write(web2, containertest.Stdout(text(20<<10)), containertest.Stderr(text(40<<10)))
	arrived("the first messages")

	// Pods come and go while flicker runs.
	_, web3 := newPod("blog", "web-3")
	write(web3, containertest.Stdout(text(100)), containertest.Stderr(text(50<<10)))
	if err := k.RemovePod(pod2); err != nil {
		t.Fatal(err)
	}
	arrived("the new pod's messages")

	// kill -9 while a stdout message of web-1 is being joined: its first records are read (a stderr message
	// written after them arrived), its rest is written only after the crash.
	write(web1, containertest.Line{Stream: container.StreamStdout, Text: text(10 << 10), Unterminated: true})
	write(web1, containertest.Stderr(text(100)))
	arrived("the stderr message after the first records")
	metric := func(name string) float64 { return scrapeMetric(addr, name, "") }
	waitFor(t, 20*time.Second, "every event to be acknowledged", func() bool {
		return metric("flicker_pipeline_events_acknowledged_total") == metric("flicker_pipeline_events_total")
	}, p)
	waitRegistrySettled(t, addr, 300*time.Millisecond, p)
	p.kill()
	write(web1, containertest.Stdout(text(5<<10)))
	write(web3, containertest.Stdout(text(100)))

	p = start(t, dir, args...)
	arrived("every message after the kill")
	p.stop()
	before := kubeCounts(t, k, events())

	// A clean stop, then more messages (a rotation while flicker is down: the restart finishes the rotated file
	// by its identity) and a restarted container (1.log); each new message arrives once, no old one again.
	write(web1, containertest.Stdout(text(200)))
	rotate(web1)
	write(web1, containertest.Stdout(text(200)), containertest.Stderr(text(30<<10)))
	web3b, err := web3.Restart()
	if err != nil {
		t.Fatal(err)
	}
	write(web3b, containertest.Stdout(text(100)))
	p = start(t, dir, args...)
	arrived("the messages after the clean restart")
	p.stop()
	after := kubeCounts(t, k, events())
	fresh := 0
	for key := range kubeWant(k) {
		switch {
		case before[key] == 0 && after[key] != 1:
			t.Errorf("message %.60q written after the clean stop arrived %d times", key, after[key])
		case before[key] > 0 && after[key] != before[key]:
			t.Errorf("message %.60q shipped again after a clean stop (%d, then %d times)", key, before[key], after[key])
		}
		if before[key] == 0 {
			fresh++
		}
	}
	if fresh != 4 || after[kubeKey("never shipped", "stdout", skipped.Log())] != 0 {
		t.Errorf("%d messages after the clean stop, want 4; the excluded namespace's arrived %d times", fresh,
			after[kubeKey("never shipped", "stdout", skipped.Log())])
	}

	// registry show names the namespace, pod and container of each log next to its path.
	show, err := exec.Command(binary, "registry", "show", "--registry-file", reg).CombinedOutput()
	if err != nil || !strings.Contains(string(show), web1.Path()+" (shop/web-1/app)") {
		t.Errorf("registry show (%v) does not name web-1 next to its log:\n%s", err, show)
	}
}

// format: cri on log_files decodes a CRI log found anywhere (a sidecar's mount): joined messages with their
// stream and time, a malformed line raw with error.message; `flicker validate` refuses metadata: api on a
// kubernetes input without a node, naming the field.
func TestE2ELogFilesFormatCRI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k, err := containertest.NewKubelet(filepath.Join(dir, "pods"), containertest.KubeletConfig{Runtime: containertest.CRIO})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.Close() })
	pod, err := k.AddPod("shop", "web", "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := pod.StartContainer("app")
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("z", 20<<10)
	if _, err := c.Write(containertest.Stdout(long)); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(c.Path(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("not a record\n"); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	out := filepath.Join(dir, "out.jsonl")
	cfg := writeConfig(t, dir, c.Path(), out, "    format: cri")
	p := start(t, dir, "-c", cfg, "--log-format", "json")
	waitFor(t, 20*time.Second, "two events", func() bool { return len(readEvents[kubeShipped](t, out)) == 2 }, p)
	p.stop()
	evs := readEvents[kubeShipped](t, out)
	want := k.Messages()[0].Time.UTC().Format("2006-01-02T15:04:05.000000000Z")
	if evs[0].Message != long || evs[0].Stream != "stdout" || evs[0].Timestamp != want {
		t.Errorf("joined message of %d bytes, stream %q, @timestamp %s (want %s)", len(evs[0].Message), evs[0].Stream, evs[0].Timestamp, want)
	}
	if evs[1].Message != "not a record" || evs[1].Error == nil ||
		!strings.HasPrefix(evs[1].Error.Message, "cri line: time at byte 0: want an RFC 3339 time") {
		t.Errorf("malformed line shipped as %+v", evs[1])
	}

	api := filepath.Join(t.TempDir(), "api.yaml")
	if err := os.WriteFile(api, []byte("kubernetes:\n  - name: pods\n    metadata: api\noutputs:\n  - type: stdout\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "validate", "-c", api)
	cmd.Env = append(os.Environ(), "NODE_NAME=")
	outb, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 2 ||
		!strings.Contains(string(outb), "api.yaml:2:5: kubernetes[0].node: is empty and NODE_NAME is not set") {
		t.Errorf("validate of metadata: api exited %d:\n%s", code, outb)
	}
}
