package main_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/flickerlog/flicker/snapshot"
)

// flicker runs a short command of the binary with the fixture's S3 environment and returns exit code and output.
func (f *s3Fixture) flicker(args ...string) (int, string) {
	f.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = f.dir
	cmd.Env = append(cmd.Environ(), f.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		f.t.Fatalf("flicker %v did not finish:\n%s", args, out.String())
	}
	checkLogKeys(f.t, out.String())
	return cmd.ProcessState.ExitCode(), out.String()
}

// offsetIn is the app.log offset that `registry show` prints for a local registry file.
func (f *s3Fixture) offsetIn(registry string) int64 {
	f.t.Helper()
	code, out := f.flicker("registry", "show", "--registry-file", registry)
	if code != 0 {
		f.t.Fatalf("registry show %s: exit %d:\n%s", registry, code, out)
	}
	for _, l := range strings.Split(out, "\n") {
		fields := strings.Fields(l)
		if len(fields) >= 5 && fields[1] == f.logPath {
			off, err := strconv.ParseInt(fields[4], 10, 64)
			if err != nil {
				f.t.Fatal(err)
			}
			return off
		}
	}
	f.t.Fatalf("registry show %s lists no %s:\n%s", registry, f.logPath, out)
	return 0
}

func TestRestoreCommand(t *testing.T) {
	f := newS3Fixture(t)
	if err := f.client.EnableVersioning(f.ctx(), s3Bucket); err != nil {
		t.Fatal(err)
	}
	lineLen := int64(len(line("d", 0)) + 1)
	history := []string{"--history-interval", "1s", "--history-slots", "8"}
	appendLines(t, f.logPath, "d", 0, 100)
	if code, logs := f.runOnce("pod1", history...); code != 0 {
		t.Fatalf("first run: exit %d:\n%s", code, logs)
	}
	time.Sleep(1100 * time.Millisecond) // the next run's history slot is another one
	appendLines(t, f.logPath, "d", 100, 200)
	if code, logs := f.runOnce("pod2", history...); code != 0 {
		t.Fatalf("second run: exit %d:\n%s", code, logs)
	}
	entries, err := snapshot.List(f.ctx(), f.client, f.keys, 8)
	if err != nil {
		t.Fatal(err)
	}
	// The latest and the second run's slot, and the first run's: two slots when that run outlasted the history
	// interval on a loaded machine. firstRun is the first run's last state: the newest entry of another writer
	// than the second run's.
	if len(entries) < 3 {
		t.Fatalf("want the latest and at least 2 history slots, got %+v", entries)
	}
	second := slices.MaxFunc(entries, func(a, b snapshot.Entry) int { return a.Header.Created.Compare(b.Header.Created) })
	var firstRun snapshot.Entry
	for _, e := range entries {
		if e.Header.WriterID != second.Header.WriterID && e.Header.Created.After(firstRun.Header.Created) {
			firstRun = e
		}
	}
	if firstRun.Key == "" {
		t.Fatalf("no entry of the first run: %+v", entries)
	}
	base := []string{"restore", "--registry-file", f.registry, "--history-slots", "8"}

	t.Run("list", func(t *testing.T) {
		code, out := f.flicker(append(base, "--list")...)
		if code != 0 || strings.Count(out, "ok (metadata)") != len(entries) || !strings.Contains(out, firstRun.Key) ||
			!strings.Contains(out, strconv.FormatUint(firstRun.Header.Seq, 10)) {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("verify", func(t *testing.T) {
		code, out := f.flicker(append(base, "--list", "--verify")...)
		if code != 0 || strings.Count(out, "verified") != len(entries) {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("to a file, then registry show", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "latest.db")
		code, out := f.flicker(append(base, "--to", dst)...)
		if code != 0 || !strings.Contains(out, "restored") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		if off := f.offsetIn(dst); off != 200*lineLen {
			t.Fatalf("restored latest has offset %d, want %d", off, 200*lineLen)
		}
		if code, out := f.flicker(append(base, "--to", dst)...); code != 2 || !strings.Contains(out, "exists") {
			t.Fatalf("overwriting without --force: exit %d:\n%s", code, out)
		}
		old := filepath.Join(t.TempDir(), "old.db")
		if code, out := f.flicker(append(base, "--to", old, "--seq", strconv.FormatUint(firstRun.Header.Seq, 10))...); code != 0 {
			t.Fatalf("--seq: exit %d:\n%s", code, out)
		}
		if off := f.offsetIn(old); off != 100*lineLen {
			t.Fatalf("restored old slot has offset %d, want %d", off, 100*lineLen)
		}
		at := firstRun.Header.Created.Add(500 * time.Millisecond).UTC().Format(time.RFC3339Nano)
		byTime := filepath.Join(t.TempDir(), "at.db")
		if code, out := f.flicker(append(base, "--to", byTime, "--at", at)...); code != 0 || f.offsetIn(byTime) != 100*lineLen {
			t.Fatalf("--at %s: exit %d:\n%s", at, code, out)
		}
	})
	t.Run("registry show on s3", func(t *testing.T) {
		code, out := f.flicker("registry", "show", "--registry-file", f.registry)
		if code != 0 || !strings.Contains(out, f.registry) || !strings.Contains(out, fmt.Sprint(200*lineLen)) {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("versions", func(t *testing.T) {
		code, out := f.flicker(append(base, "--list", "--versions")...)
		if code != 0 || !strings.Contains(out, "VERSION") || strings.Count(out, "ok (metadata)") < 2 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		versions, err := snapshot.Versions(f.ctx(), f.client, f.keys)
		if err != nil {
			t.Fatal(err)
		}
		first := versions[len(versions)-1] // the first run's first upload: an empty registry or little progress
		dst := filepath.Join(t.TempDir(), "v.db")
		code, out = f.flicker(append(base, "--to", dst, "--version-id", first.VersionID)...)
		if code != 0 || !strings.Contains(out, fmt.Sprintf("seq %d", first.Header.Seq)) {
			t.Fatalf("--version-id: exit %d:\n%s", code, out)
		}
	})
	t.Run("corrupt slot is refused", func(t *testing.T) {
		body := []byte("FLICKSNP garbage that claims to be a snapshot")
		meta := firstRun.Header.Metadata()
		// A slot the runs did not write: overwriting one of theirs would lose it for the promote below.
		slot := ""
		for n := 7; slot == ""; n-- {
			if key := f.keys.History(n); !slices.ContainsFunc(entries, func(e snapshot.Entry) bool { return e.Key == key }) {
				slot = key
			}
		}
		if _, err := f.client.PutObject(f.ctx(), s3Bucket, slot, bytes.NewReader(body), int64(len(body)),
			minio.PutObjectOptions{UserMetadata: meta}); err != nil {
			t.Fatal(err)
		}
		defer f.client.RemoveObject(f.ctx(), s3Bucket, slot, minio.RemoveObjectOptions{})
		code, out := f.flicker(append(base, "--list", "--verify")...)
		if code != 1 || !strings.Contains(out, "BAD") {
			t.Fatalf("exit %d, want 1 with a BAD row:\n%s", code, out)
		}
	})
	t.Run("promote", func(t *testing.T) {
		code, out := f.flicker(append(base, "--promote", "--seq", strconv.FormatUint(firstRun.Header.Seq, 10))...)
		if code != 0 || !strings.Contains(out, "promoted") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		h, off := f.latest()
		if off != 100*lineLen || h.Epoch <= entries[0].Header.Epoch {
			t.Fatalf("latest after promote: epoch %d (was %d), offset %d", h.Epoch, entries[0].Header.Epoch, off)
		}
		// The next start resumes from the promoted state: lines 100-199 are shipped again.
		if code, logs := f.runOnce("pod3", history...); code != 0 {
			t.Fatalf("run after promote: exit %d:\n%s", code, logs)
		}
		counts := countMessages(readOutput(t, f.outPath))
		for i := range 200 {
			want := 1
			if i >= 100 {
				want = 2
			}
			if counts[line("d", i)] != want {
				t.Fatalf("line %d arrived %d times after the promote, want %d", i, counts[line("d", i)], want)
			}
		}
	})
	t.Run("promote refused while the lease is held", func(t *testing.T) {
		p := f.run("pod4")
		waitFor(t, time.Minute, "the lease", func() bool { return strings.Contains(p.logs(), "S3 registry ready") }, p)
		code, out := f.flicker(append(base, "--promote", "--lease-ttl", "2s", "--seq", strconv.FormatUint(firstRun.Header.Seq, 10))...)
		if code != 3 || !strings.Contains(out, "lease held") {
			t.Fatalf("exit %d, want 3 naming the holder:\n%s", code, out)
		}
		p.stop()
	})
	t.Run("export and import on s3", func(t *testing.T) {
		code, exported := f.flicker("registry", "export", "--registry-file", f.registry)
		if code != 0 || !strings.Contains(exported, f.logPath) {
			t.Fatalf("export: exit %d:\n%s", code, exported)
		}
		before, _ := f.latest()
		path := filepath.Join(t.TempDir(), "export.json")
		if err := os.WriteFile(path, []byte(exported), 0o644); err != nil {
			t.Fatal(err)
		}
		if code, out := f.flicker("registry", "import", "--registry-file", f.registry, path); code != 0 {
			t.Fatalf("import: exit %d:\n%s", code, out)
		}
		after, off := f.latest()
		if after.Epoch <= before.Epoch || off != 200*lineLen {
			t.Fatalf("after import: epoch %d (was %d), offset %d", after.Epoch, before.Epoch, off)
		}
	})
	t.Run("reset on s3", func(t *testing.T) {
		if code, out := f.flicker("registry", "reset", "nope", "--registry-file", f.registry); code != 2 ||
			!strings.Contains(out, `no state for input "nope"`) || !strings.Contains(out, "app") {
			t.Fatalf("reset of an unknown input: exit %d, want 2 naming the inputs with state:\n%s", code, out)
		}
		before, _ := f.latest()
		if code, out := f.flicker("registry", "reset", "app", "--registry-file", f.registry); code != 0 ||
			!strings.Contains(out, "reset input app: 1 file positions") {
			t.Fatalf("reset: exit %d:\n%s", code, out)
		}
		after, off := f.latest()
		if after.Epoch <= before.Epoch || off != 0 {
			t.Fatalf("after reset: epoch %d (was %d), offset %d, want a new epoch and no position", after.Epoch,
				before.Epoch, off)
		}
		// The next start ships the whole file again.
		shipped := f.arrived("d")
		if code, logs := f.runOnce("pod5"); code != 0 {
			t.Fatalf("run after reset: exit %d:\n%s", code, logs)
		}
		if got := f.arrived("d"); got != shipped+200 {
			t.Fatalf("the run after the reset shipped %d lines, want the file's 200 again", got-shipped)
		}
	})
}
