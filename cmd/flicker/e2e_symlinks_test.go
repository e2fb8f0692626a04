package main_test

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fileLogLine is what the symlink tests read of a JSON log line of the file source.
type fileLogLine struct {
	Level, Message, Input, Path, Target, Type string
}

// fileLogLines returns the JSON log lines in logs about path whose message contains msg.
func fileLogLines(t *testing.T, logs, msg, path string) []fileLogLine {
	t.Helper()
	var out []fileLogLine
	for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
		var ll fileLogLine
		if err := json.Unmarshal([]byte(l), &ll); err != nil {
			t.Fatalf("log line is not JSON (%v): %s", err, l)
		}
		if ll.Path == path && strings.Contains(ll.Message, msg) {
			out = append(out, ll)
		}
	}
	return out
}

// waitScans makes sure n more scans ran: it writes n new files in dir, one at a time, each found only by a
// scan, and waits until each is shipped to out.
func waitScans(t *testing.T, p *proc, dir, out string, n int) {
	t.Helper()
	for i := range n {
		prefix := fmt.Sprintf("scan%d", i)
		appendLines(t, filepath.Join(dir, prefix+".log"), prefix, 0, 1)
		waitFor(t, 20*time.Second, prefix, func() bool { return prefixCounts(readOutput(t, out))[prefix] == 1 }, p)
	}
}

// rootOnlyFile writes lines "secret <n>" to a 0600 file in a 0700 directory outside the watched one.
func rootOnlyFile(t *testing.T, dir string) string {
	t.Helper()
	if err := os.Mkdir(filepath.Join(dir, "private"), 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "private", "shadow")
	appendLines(t, path, "secret", 0, 10)
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSymlinkToRootOnlyFile: a symlink in the watched directory to a root-only file elsewhere ships nothing by
// default, and is logged once at info level over several scans, with its target and how to read it; with
// follow_symlinks: true the file is shipped under the link's path.
func TestSymlinkToRootOnlyFile(t *testing.T) {
	t.Parallel()
	for _, follow := range []bool{false, true} {
		t.Run(fmt.Sprintf("follow_symlinks=%v", follow), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			logs := filepath.Join(dir, "logs")
			if err := os.Mkdir(logs, 0o755); err != nil {
				t.Fatal(err)
			}
			secret, link := rootOnlyFile(t, dir), filepath.Join(logs, "link.log")
			if err := os.Symlink(secret, link); err != nil {
				t.Fatal(err)
			}
			appendLines(t, filepath.Join(logs, "app.log"), "app", 0, 10)
			extra := ""
			if follow {
				extra = "    follow_symlinks: true"
			}
			out := filepath.Join(dir, "out.jsonl")
			p := start(t, dir, "-c", writeConfig(t, dir, filepath.Join(logs, "*.log"), out, extra), "--log-format", "json")
			waitFor(t, 20*time.Second, "the regular file", func() bool { return prefixCounts(readOutput(t, out))["app"] == 10 }, p)
			if follow {
				waitFor(t, 20*time.Second, "the link's target", func() bool {
					return prefixCounts(readOutput(t, out))["secret"] == 10
				}, p)
			}
			waitScans(t, p, logs, out, 3)
			p.stop()

			evs := readOutput(t, out)
			want := map[bool]int{false: 0, true: 10}[follow]
			if n := prefixCounts(evs)["secret"]; n != want {
				t.Fatalf("%d lines of the link's target shipped, want %d", n, want)
			}
			for _, ev := range evs {
				if strings.HasPrefix(ev.Message, "secret ") && ev.Log.File.Path != link {
					t.Fatalf("the target's event has log.file.path %s, want the link %s", ev.Log.File.Path, link)
				}
			}
			skipped := fileLogLines(t, p.stderr.String(), "symlink not followed", link)
			switch {
			case follow && len(skipped) != 0:
				t.Fatalf("followed link logged as skipped: %+v", skipped)
			case !follow && len(skipped) != 1:
				t.Fatalf("skipped link logged %d times over several scans, want once; logs:\n%s", len(skipped), p.logs())
			case !follow:
				l := skipped[0]
				if l.Level != "info" || l.Input != "app" || l.Target != secret || !strings.Contains(l.Message, "follow_symlinks: true") {
					t.Fatalf("skipped link logged as %+v, want info naming the input, the target and follow_symlinks: true", l)
				}
			}
		})
	}
}

// TestSymlinkSwappedInAfterScan: a shipped file's path is replaced by a symlink to a root-only file (renamed over
// it). The replaced file is read to its end; the link is not followed.
func TestSymlinkSwappedInAfterScan(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	secret, app := rootOnlyFile(t, dir), filepath.Join(logs, "app.log")
	appendLines(t, app, "app", 0, 10)
	out := filepath.Join(dir, "out.jsonl")
	p := start(t, dir, "-c", writeConfig(t, dir, filepath.Join(logs, "*.log"), out, ""), "--log-format", "json")
	waitFor(t, 20*time.Second, "the file", func() bool { return prefixCounts(readOutput(t, out))["app"] == 10 }, p)

	if err := os.Symlink(secret, app+".tmp"); err != nil {
		t.Fatal(err)
	}
	appendLines(t, app, "app", 10, 20)
	if err := os.Rename(app+".tmp", app); err != nil {
		t.Fatal(err)
	}
	waitScans(t, p, logs, out, 2)
	p.stop()

	counts := prefixCounts(readOutput(t, out))
	if counts["secret"] != 0 || counts["app"] != 20 {
		t.Fatalf("shipped %d lines of the link's target (want 0) and %d of the replaced file (want 20)",
			counts["secret"], counts["app"])
	}
	if n := len(fileLogLines(t, p.stderr.String(), "symlink not followed", app)); n != 1 {
		t.Fatalf("the link was logged %d times as skipped, want once; logs:\n%s", n, p.logs())
	}
}

// TestSpecialFilesMatchedByGlob: a named pipe, a directory, a socket and a symlink loop that the glob matches are
// each logged once over several scans (the directory at debug level, the rest at warn level), the pipe is never
// opened (flicker neither blocks nor fails to stop), and the regular file next to them is shipped.
func TestSpecialFilesMatchedByGlob(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	at := func(name string) string { return filepath.Join(logs, name) }
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(at("fifo.log"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(at("dir.log"), 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", at("sock.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := os.Symlink("loop.log", at("loop.log")); err != nil {
		t.Fatal(err)
	}
	appendLines(t, at("app.log"), "app", 0, 10)
	out := filepath.Join(dir, "out.jsonl")
	cfg := writeConfig(t, dir, filepath.Join(logs, "*.log"), out, "    follow_symlinks: true")
	p := start(t, dir, "-c", cfg, "--log-format", "json", "--log-level", "debug")
	waitFor(t, 20*time.Second, "the regular file", func() bool { return prefixCounts(readOutput(t, out))["app"] == 10 }, p)
	waitScans(t, p, logs, out, 3)
	p.stop()

	for _, w := range []struct{ name, msg, level, typ string }{
		{"fifo.log", "not a regular file", "warn", "named pipe"},
		{"sock.log", "not a regular file", "warn", "socket"},
		{"loop.log", "not a regular file", "warn", "symlink loop"},
		{"dir.log", "directory", "debug", ""},
	} {
		got := fileLogLines(t, p.stderr.String(), w.msg, at(w.name))
		if len(got) != 1 {
			t.Errorf("%s logged %d times over several scans, want once", w.name, len(got))
			continue
		}
		if got[0].Level != w.level || got[0].Type != w.typ || got[0].Input != "app" {
			t.Errorf("%s logged as %+v, want level %s, type %q, input app", w.name, got[0], w.level, w.typ)
		}
	}
	if len(readOutput(t, out)) != 13 {
		t.Errorf("shipped %d events, want the 10 lines of app.log and the 3 scan files'", len(readOutput(t, out)))
	}
}
