package containertest_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sources/container"
	"github.com/flickerlog/flicker/sources/container/containertest"
)

// ticker is a clock that moves step on every reading.
func ticker(start time.Time, step time.Duration) func() time.Time {
	now := start
	return func() time.Time {
		t := now
		now = now.Add(step)
		return t
	}
}

// readTree reads every log under a pods directory back with container.ParseCRI: per container run, the rotated
// files (gunzipped) in stamp order then the live log, records joined per stream from P to F. It returns the
// messages per container run and stream, in order; a message still waiting for its F at the end is Partial.
func readTree(t *testing.T, dir string) map[string][]containertest.Message {
	t.Helper()
	families := map[string][]string{} // live log path -> its files
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		live := strings.TrimSuffix(path, ".gz")
		if i := strings.Index(live, ".log."); i >= 0 {
			live = live[:i+len(".log")]
		}
		families[live] = append(families[live], path)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]containertest.Message{}
	for live, files := range families {
		// The live log sorts first as a prefix of the others: put it last.
		sort.Slice(files, func(i, j int) bool {
			a, b := strings.TrimSuffix(files[i], ".gz"), strings.TrimSuffix(files[j], ".gz")
			if (a == live) != (b == live) {
				return b == live
			}
			return a < b
		})
		meta, err := container.ParsePodLogPath(live)
		if err != nil {
			t.Fatal(err)
		}
		var open [3]*containertest.Message // per stream, a message waiting for its F
		for _, name := range files {
			for _, line := range readLines(t, name) {
				rec, err := container.ParseCRI(line)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				m := open[rec.Stream]
				if m == nil {
					m = &containertest.Message{Log: meta, Path: live, Stream: rec.Stream, Time: rec.Time}
					open[rec.Stream] = m
				}
				m.Text += string(rec.Content)
				m.Records++
				if !rec.Partial {
					key := keyOf(meta, rec.Stream)
					got[key] = append(got[key], *m)
					open[rec.Stream] = nil
				}
			}
		}
		for s, m := range open {
			if m != nil {
				m.Partial = true
				key := keyOf(meta, container.Stream(s))
				got[key] = append(got[key], *m)
			}
		}
	}
	return got
}

func keyOf(log container.PodLog, s container.Stream) string {
	return fmt.Sprintf("%s/%s/%s/%s/%d/%s", log.Namespace, log.Pod, log.PodUID, log.Container, log.RestartCount, s)
}

func readLines(t *testing.T, name string) [][]byte {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		r = zr
	}
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatalf("%s ends in a partial line", name)
	}
	if len(data) == 0 {
		return nil
	}
	// Not a bufio.Scanner: it would drop a "\r" before the newline, which is content.
	return bytes.Split(data[:len(data)-1], []byte("\n"))
}

// checkTree compares what the files say with what the emulator reports it wrote.
func checkTree(t *testing.T, k *containertest.Kubelet) {
	t.Helper()
	want := map[string][]containertest.Message{}
	for _, m := range k.Messages() {
		key := keyOf(m.Log, m.Stream)
		want[key] = append(want[key], m)
	}
	got := readTree(t, k.Dir())
	for key, msgs := range want {
		if len(got[key]) != len(msgs) {
			t.Errorf("%s: read %d messages, the emulator reports %d", key, len(got[key]), len(msgs))
			continue
		}
		for i, w := range msgs {
			g := got[key][i]
			if g.Text != w.Text || g.Records != w.Records || g.Partial != w.Partial || !g.Time.Equal(w.Time) ||
				g.Log != w.Log || g.Path != w.Path {
				t.Errorf("%s message %d:\nread     %s %q records %d partial %t log %+v path %s\nreported %s %q records %d partial %t log %+v path %s",
					key, i, g.Time.Format(time.RFC3339Nano), clip(g.Text), g.Records, g.Partial, g.Log, g.Path,
					w.Time.Format(time.RFC3339Nano), clip(w.Text), w.Records, w.Partial, w.Log, w.Path)
			}
		}
	}
	for key := range got {
		if _, ok := want[key]; !ok {
			t.Errorf("%s: %d messages read that the emulator does not report", key, len(got[key]))
		}
	}
}

func clip(s string) string {
	if len(s) > 60 {
		return fmt.Sprintf("%s...(%d bytes)", s[:60], len(s))
	}
	return s
}

func mustDo[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// Everything the emulator writes parses back, joined per stream, to exactly the messages it reports: both
// runtimes, a node zone east and west of UTC, long lines split and interleaved across streams, a rotation with
// lines landing in the renamed file, compressed rotations, a restart, a second pod, a 1 MiB line.
func TestKubeletWritesWhatItReports(t *testing.T) {
	for _, tc := range []struct {
		runtime containertest.Runtime
		zone    *time.Location
	}{
		{containertest.Containerd, time.FixedZone("", 5*3600+30*60)},
		{containertest.Containerd, time.UTC},
		{containertest.CRIO, time.FixedZone("", -3*3600)},
	} {
		t.Run(fmt.Sprintf("%s/%s", tc.runtime, tc.zone), func(t *testing.T) {
			t.Parallel()
			k := mustDo[*containertest.Kubelet](t)(containertest.NewKubelet(filepath.Join(t.TempDir(), "pods"),
				containertest.KubeletConfig{Runtime: tc.runtime, Zone: tc.zone, Compress: true, MaxFiles: 10,
					Clock: ticker(time.Date(2024, 5, 1, 23, 59, 58, 123456789, time.UTC), 7*time.Millisecond+1)}))
			defer k.Close()
			web := mustDo[*containertest.Pod](t)(k.AddPod("shop", "web-7d4b9c8f5-x2k9p", ""))
			app := mustDo[*containertest.PodContainer](t)(web.StartContainer("app"))
			side := mustDo[*containertest.PodContainer](t)(web.StartContainer("log-sidecar"))
			long := strings.Repeat("0123456789abcdef", 3000) // 48000 bytes: several records at either default
			write := func(c *containertest.PodContainer, lines ...containertest.Line) {
				t.Helper()
				mustDo[[]containertest.Message](t)(c.Write(lines...))
			}
			write(app, containertest.Stdout("GET /index.html 200"), containertest.Stderr("warning: slow"))
			write(app, containertest.Stdout(long), containertest.Stderr(long[:20000]), containertest.Stdout(""),
				containertest.Stdout("after the long one"), containertest.Stderr(" \t spaces kept \r"))
			write(side, containertest.Stdout("sidecar line"))
			// A message joined across the rotation: its first records in the renamed file, the rest in the new.
			write(side, containertest.Line{Stream: container.StreamStderr, Text: long[:30000], Unterminated: true})
			mustDo[[]containertest.Message](t)(app.Rotate(containertest.Stdout("into the renamed file"),
				containertest.Stderr(long[:17000])))
			mustDo[[]containertest.Message](t)(side.Rotate())
			write(app, containertest.Stdout("into the new file"))
			write(side, containertest.Stderr(long[:100]))
			for i := 0; i < 3; i++ {
				write(app, containertest.Stdout(fmt.Sprintf("line %d", i)))
				mustDo[[]containertest.Message](t)(app.Rotate())
			}
			write(app, containertest.Stdout("crashing"), containertest.Line{Stream: container.StreamStderr,
				Text: long[:20000], Unterminated: true})
			app = mustDo[*containertest.PodContainer](t)(app.Restart())
			write(app, containertest.Stdout("second run"), containertest.Stdout(strings.Repeat("x", 1<<20)))
			db := mustDo[*containertest.Pod](t)(k.AddPod("shop", "db-0", ""))
			write(mustDo[*containertest.PodContainer](t)(db.StartContainer("postgres")), containertest.Stderr("ready"))

			checkTree(t, k)
			if n := len(k.Messages()); n != 20 {
				t.Errorf("%d messages reported, want 20", n)
			}
		})
	}
}

func TestKubeletSplitsAndInterleaves(t *testing.T) {
	k := mustDo[*containertest.Kubelet](t)(containertest.NewKubelet(filepath.Join(t.TempDir(), "pods"),
		containertest.KubeletConfig{MaxRecord: 4}))
	defer k.Close()
	p := mustDo[*containertest.Pod](t)(k.AddPod("default", "web", "uid"))
	c := mustDo[*containertest.PodContainer](t)(p.StartContainer("app"))
	msgs := mustDo[[]containertest.Message](t)(c.Write(
		containertest.Stdout("aaaabbbbc"), containertest.Stdout("dddd"), containertest.Stderr("eeeeff"),
		containertest.Stderr(""), containertest.Line{Stream: container.StreamStdout, Text: "gggghhhh", Unterminated: true},
	))
	// The unterminated line goes on, in the same Write and in the next.
	more := mustDo[[]containertest.Message](t)(c.Write(
		containertest.Line{Stream: container.StreamStderr, Text: "ii", Unterminated: true}, containertest.Stderr("jj"),
		containertest.Stdout("kk"),
	))
	var got []string
	for _, line := range readLines(t, c.Path()) {
		rec, err := container.ParseCRI(line)
		if err != nil {
			t.Fatal(err)
		}
		tag := "F"
		if rec.Partial {
			tag = "P"
		}
		got = append(got, fmt.Sprintf("%s %s %s", rec.Stream, tag, rec.Content))
	}
	want := []string{
		"stdout P aaaa", "stderr P eeee",
		"stdout P bbbb", "stderr F ff",
		"stdout F c", "stderr F ",
		"stdout F dddd", // exactly MaxRecord bytes: one record
		"stdout P gggg",
		"stdout P hhhh", // unterminated: no F
		"stdout F kk",   // ...until now
		"stderr P ii",
		"stderr F jj",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var records []int
	for _, m := range msgs {
		records = append(records, m.Records)
	}
	if fmt.Sprint(records) != "[3 1 2 1 2]" || !msgs[4].Partial || msgs[0].Partial {
		t.Errorf("records per message %v, partial %t %t", records, msgs[0].Partial, msgs[4].Partial)
	}
	if len(more) != 2 || more[0].Text != "gggghhhhkk" || more[0].Records != 3 || more[0].Partial ||
		!more[0].Time.Equal(msgs[4].Time) || more[1].Text != "iijj" || more[1].Records != 2 || more[1].Partial {
		t.Errorf("continued messages %+v", more)
	}
	if all := k.Messages(); len(all) != 6 || all[4].Text != "gggghhhhkk" || all[5].Text != "iijj" {
		t.Errorf("all messages %+v", all)
	}
	checkTree(t, k)
	for _, bad := range []containertest.Line{
		containertest.Stdout("two\nlines"),
		{Stream: container.StreamStdout, Unterminated: true},
		{Stream: container.StreamUnknown, Text: "x"},
	} {
		if _, err := c.Write(bad); err == nil {
			t.Errorf("Write(%+v) succeeded", bad)
		}
	}
}

func TestKubeletTimeFormats(t *testing.T) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 120000000, time.UTC)
	tests := []struct {
		runtime containertest.Runtime
		zone    *time.Location
		at      time.Time
		want    string
	}{
		{containertest.Containerd, time.UTC, at, "2024-01-02T03:04:05.12Z stdout F x\n"},
		{containertest.Containerd, time.UTC, at.Truncate(time.Second), "2024-01-02T03:04:05Z stdout F x\n"},
		{containertest.Containerd, time.FixedZone("", 3600), at, "2024-01-02T04:04:05.12+01:00 stdout F x\n"},
		{containertest.CRIO, time.UTC, at, "2024-01-02T03:04:05.120000000+00:00 stdout F x\n"},
		{containertest.CRIO, time.FixedZone("", -7*3600), at.Truncate(time.Second),
			"2024-01-01T20:04:05.000000000-07:00 stdout F x\n"},
	}
	for _, tt := range tests {
		k := mustDo[*containertest.Kubelet](t)(containertest.NewKubelet(filepath.Join(t.TempDir(), "pods"),
			containertest.KubeletConfig{Runtime: tt.runtime, Zone: tt.zone, Clock: func() time.Time { return tt.at }}))
		p := mustDo[*containertest.Pod](t)(k.AddPod("default", "web", "uid"))
		c := mustDo[*containertest.PodContainer](t)(p.StartContainer("app"))
		mustDo[[]containertest.Message](t)(c.Write(containertest.Stdout("x")))
		if err := k.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(c.Path())
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("%s in %s: wrote %q, want %q", tt.runtime, tt.zone, got, tt.want)
		}
	}
}

func inode(t *testing.T, name string) uint64 {
	t.Helper()
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// Rotation as the kubelet does it: renamed with a stamp (the inode moves with the name), a new live file, at most
// MaxFiles-1 rotated files, all but the newest gzipped, no .tmp left; two rotations in one second get stamps a
// second apart.
func TestKubeletRotation(t *testing.T) {
	zone := time.FixedZone("", 2*3600)
	k := mustDo[*containertest.Kubelet](t)(containertest.NewKubelet(filepath.Join(t.TempDir(), "pods"),
		containertest.KubeletConfig{MaxFiles: 3, Compress: true, Zone: zone,
			Clock: ticker(time.Date(2024, 5, 1, 10, 15, 0, 0, time.UTC), time.Millisecond)}))
	defer k.Close()
	p := mustDo[*containertest.Pod](t)(k.AddPod("default", "web", "uid"))
	c := mustDo[*containertest.PodContainer](t)(p.StartContainer("app"))
	for i := 0; i < 4; i++ {
		mustDo[[]containertest.Message](t)(c.Write(containertest.Stdout(fmt.Sprintf("before rotation %d", i))))
		before := inode(t, c.Path())
		mustDo[[]containertest.Message](t)(c.Rotate(containertest.Stdout(fmt.Sprintf("in the window %d", i))))
		rotated := fmt.Sprintf("%s.20240501-1215%02d", c.Path(), i)
		if got := inode(t, rotated); got != before {
			t.Errorf("rotation %d: %s has inode %d, want the live log's %d", i, rotated, got, before)
		}
		if inode(t, c.Path()) == before {
			t.Errorf("rotation %d: the live log kept its inode", i)
		}
		lines := readLines(t, rotated)
		if last := string(lines[len(lines)-1]); !strings.HasSuffix(last, fmt.Sprintf("F in the window %d", i)) {
			t.Errorf("rotation %d: the rotated file ends with %q, want the line written before the reopen", i, last)
		}
	}
	got := strings.Join(listDir(t, filepath.Dir(c.Path())), " ")
	if want := "0.log 0.log.20240501-121502.gz 0.log.20240501-121503"; got != want {
		t.Errorf("files %s, want %s", got, want)
	}
	checkLiveAndRotatedParse(t, filepath.Dir(c.Path()))
	// Without compression the rotated files stay as they are.
	plain := mustDo[*containertest.Kubelet](t)(containertest.NewKubelet(filepath.Join(t.TempDir(), "pods"),
		containertest.KubeletConfig{MaxFiles: 3, Clock: ticker(time.Date(2024, 5, 1, 10, 15, 0, 0, time.UTC), 0)}))
	defer plain.Close()
	c = mustDo[*containertest.PodContainer](t)(mustDo[*containertest.Pod](t)(plain.AddPod("default", "web", "uid")).
		StartContainer("app"))
	for i := 0; i < 3; i++ {
		mustDo[[]containertest.Message](t)(c.Rotate())
	}
	got = strings.Join(listDir(t, filepath.Dir(c.Path())), " ")
	if want := "0.log 0.log.20240501-101501 0.log.20240501-101502"; got != want {
		t.Errorf("files %s, want %s", got, want)
	}
}

// checkLiveAndRotatedParse: ParsePodLogPath takes the live log and the uncompressed rotated one, not the .gz.
func checkLiveAndRotatedParse(t *testing.T, dir string) {
	t.Helper()
	for _, name := range listDir(t, dir) {
		_, err := container.ParsePodLogPath(filepath.Join(dir, name))
		if strings.HasSuffix(name, ".gz") != errors.Is(err, container.ErrNotPodLog) {
			t.Errorf("%s: ParsePodLogPath error %v", name, err)
		}
	}
}

func TestKubeletRestartAndRemove(t *testing.T) {
	root := t.TempDir()
	links := filepath.Join(root, "containers")
	k := mustDo[*containertest.Kubelet](t)(containertest.NewKubelet(filepath.Join(root, "pods"),
		containertest.KubeletConfig{ContainersDir: links}))
	defer k.Close()
	long := strings.Repeat("p", 200)
	p := mustDo[*containertest.Pod](t)(k.AddPod("shop", long, ""))
	c := mustDo[*containertest.PodContainer](t)(p.StartContainer("app"))
	mustDo[[]containertest.Message](t)(c.Write(containertest.Stdout("first run")))

	link, err := container.ParseContainerLink(c.Link())
	if err != nil {
		t.Fatal(err)
	}
	if want := (container.ContainerLink{Pod: long, Namespace: "shop", Container: "app", ContainerID: c.ID[:251-210],
		Truncated: true}); link != want || len(filepath.Base(c.Link())) != 255 {
		t.Errorf("link %s parses to %+v, want %+v", filepath.Base(c.Link()), link, want)
	}
	if target, err := filepath.EvalSymlinks(c.Link()); err != nil || target != c.Path() {
		t.Errorf("link points at %s (%v), want %s", target, err, c.Path())
	}
	if meta, err := container.ParsePodLogPath(c.Path()); err != nil || meta != c.Log() {
		t.Errorf("path %s parses to %+v (%v), want %+v", c.Path(), meta, err, c.Log())
	}

	next := mustDo[*containertest.PodContainer](t)(c.Restart())
	if _, err := c.Write(containertest.Stdout("to a stopped run")); err == nil {
		t.Error("a write to the stopped run succeeded")
	}
	mustDo[[]containertest.Message](t)(next.Write(containertest.Stdout("second run")))
	if next.RestartCount != 1 || filepath.Base(next.Path()) != "1.log" || next.ID == c.ID {
		t.Errorf("restart: count %d path %s id %s", next.RestartCount, next.Path(), next.ID)
	}
	if got := strings.Join(listDir(t, filepath.Dir(next.Path())), " "); got != "0.log 1.log" {
		t.Errorf("after a restart the container's directory holds %s, want 0.log 1.log", got)
	}
	if got := listDir(t, links); len(got) != 1 || filepath.Join(links, got[0]) != next.Link() {
		t.Errorf("links %v, want only %s", got, next.Link())
	}
	checkTree(t, k)

	other := mustDo[*containertest.Pod](t)(k.AddPod("shop", "db-0", ""))
	mustDo[*containertest.PodContainer](t)(other.StartContainer("postgres"))
	if err := k.RemovePod(p); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the removed pod's directory: %v", err)
	}
	if got := listDir(t, links); len(got) != 1 || !strings.HasPrefix(got[0], "db-0_shop_postgres-") {
		t.Errorf("links after the removal: %v", got)
	}
	if _, err := next.Write(containertest.Stdout("after the removal")); err == nil {
		t.Error("a write to a removed pod's container succeeded")
	}
	if _, err := p.StartContainer("again"); err == nil {
		t.Error("a container started in a removed pod")
	}
	if _, err := k.AddPod("shop", "db-0", other.UID); err == nil {
		t.Error("a pod was added twice")
	}
}

// Each runtime's default record size, and containerd's max_container_log_line_size -1: no splitting.
func TestKubeletRecordSizes(t *testing.T) {
	tests := []struct {
		runtime   containertest.Runtime
		maxRecord int
		want      []int // content length of each record of a 40000-byte line
	}{
		{containertest.Containerd, 0, []int{16384, 16384, 7232}},
		{containertest.CRIO, 0, []int{8192, 8192, 8192, 8192, 7232}},
		{containertest.Containerd, -1, []int{40000}},
	}
	for _, tt := range tests {
		k := mustDo[*containertest.Kubelet](t)(containertest.NewKubelet(filepath.Join(t.TempDir(), "pods"),
			containertest.KubeletConfig{Runtime: tt.runtime, MaxRecord: tt.maxRecord}))
		c := mustDo[*containertest.PodContainer](t)(mustDo[*containertest.Pod](t)(k.AddPod("default", "web", "")).
			StartContainer("app"))
		mustDo[[]containertest.Message](t)(c.Write(containertest.Stdout(strings.Repeat("z", 40000))))
		if err := k.Close(); err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, line := range readLines(t, c.Path()) {
			rec, err := container.ParseCRI(line)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, len(rec.Content))
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s with max record %d: records of %v bytes, want %v", tt.runtime, tt.maxRecord, got, tt.want)
		}
	}
}

// The emulator may be driven from several goroutines (writers per container, a rotating one, a reader of
// Messages): run under -race.
func TestKubeletConcurrentUse(t *testing.T) {
	k := mustDo[*containertest.Kubelet](t)(containertest.NewKubelet(filepath.Join(t.TempDir(), "pods"),
		containertest.KubeletConfig{MaxRecord: 64, MaxFiles: 100}))
	defer k.Close()
	p := mustDo[*containertest.Pod](t)(k.AddPod("default", "web", ""))
	a := mustDo[*containertest.PodContainer](t)(p.StartContainer("a"))
	b := mustDo[*containertest.PodContainer](t)(p.StartContainer("b"))
	errs := make(chan error, 3)
	var wg sync.WaitGroup
	for _, c := range []*containertest.PodContainer{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if _, err := c.Write(containertest.Stdout(strings.Repeat("o", i)), containertest.Stderr(strings.Repeat("e", i))); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			if _, err := a.Rotate(); err != nil {
				errs <- err
				return
			}
			_ = k.Messages()
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := len(k.Messages()); n != 800 {
		t.Errorf("%d messages, want 800", n)
	}
	checkTree(t, k)
}
