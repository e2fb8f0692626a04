package file_test

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/flickerlog/flicker/internal/syncbuf"
	"github.com/flickerlog/flicker/sources/file"
)

// logLine is what the tests read of a JSON log line.
type logLine struct {
	Level, Message, Input, Path, Target, Type string
}

// logLines returns the log lines about path whose message contains msg.
func logLines(t *testing.T, logs *syncbuf.Buffer, msg, path string) []logLine {
	t.Helper()
	var out []logLine
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var ll logLine
		if err := json.Unmarshal([]byte(l), &ll); err != nil {
			t.Fatalf("log line is not JSON (%v): %s", err, l)
		}
		if ll.Path == path && strings.Contains(ll.Message, msg) {
			out = append(out, ll)
		}
	}
	return out
}

// scansPass makes sure n more scans ran: it creates n files in dir, one at a time, each found only by a scan,
// and waits for each to be shipped.
func scansPass(t *testing.T, pub *recPublisher, dir string, n int) {
	t.Helper()
	for range n {
		name := fmt.Sprintf("scan-%d", len(pub.messages("")))
		path := filepath.Join(dir, name+".log")
		writeFile(t, path, name+"\n")
		eventually(t, "a scan to find "+path, func() bool { return slices.Contains(pub.messages(path), name) })
	}
}

// secretFile writes a root-only file outside the watched directories.
func secretFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(path, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// TestSymlinkFollowedOnlyWithFollowSymlinks: a symlink matched by a glob, or named by a literal path, to a
// root-only file elsewhere is not read by default, and said once at info level, with its target and the setting
// that reads it; with follow_symlinks it is read.
func TestSymlinkFollowedOnlyWithFollowSymlinks(t *testing.T) {
	for _, follow := range []bool{false, true} {
		t.Run(fmt.Sprintf("follow_symlinks=%v", follow), func(t *testing.T) {
			dir, other := t.TempDir(), t.TempDir()
			secret := secretFile(t)
			globbed, literal := filepath.Join(dir, "link.log"), filepath.Join(other, "literal")
			symlink(t, secret, globbed)
			symlink(t, secret, literal)
			writeFile(t, filepath.Join(dir, "plain.log"), "plain\n")
			cfg := testConfig(dir, func(c *file.Config) {
				c.Paths = append(c.Paths, literal)
				c.FollowSymlinks = follow
			})
			pub, logs, _ := runLogged(t, cfg, newRegistry())
			if follow {
				eventually(t, "the secret through one of the links", func() bool {
					return slices.Contains(pub.messages(globbed), "secret") ||
						slices.Contains(pub.messages(literal), "secret")
				})
			}
			scansPass(t, pub, dir, 3)
			got := pub.messages("")
			if n := strings.Count(strings.Join(got, "\n"), "secret"); n != map[bool]int{false: 0, true: 1}[follow] {
				t.Errorf("the link's target shipped %d times: %q", n, got)
			}
			if !slices.Contains(got, "plain") {
				t.Errorf("the regular file next to the link was not shipped: %q", got)
			}
			for _, link := range []string{globbed, literal} {
				skipped := logLines(t, logs, "symlink not followed", link)
				switch {
				case follow && len(skipped) != 0:
					t.Errorf("%s followed but logged as skipped: %+v", link, skipped)
				case !follow && len(skipped) != 1:
					t.Errorf("%s logged %d times as a skipped link over several scans, want once: %+v", link,
						len(skipped), skipped)
				case !follow:
					l := skipped[0]
					if l.Level != "info" || l.Input != "app" || l.Target != secret ||
						!strings.Contains(l.Message, "follow_symlinks: true") {
						t.Errorf("skipped link logged as %+v, want info naming the input, the target and "+
							"follow_symlinks: true", l)
					}
				}
			}
		})
	}
}

// TestSymlinkSwappedInNotFollowed: a tracked file's path replaced by a symlink (renamed over it) is not followed
// without follow_symlinks; the file that was there is read to its end.
func TestSymlinkSwappedInNotFollowed(t *testing.T) {
	dir := t.TempDir()
	secret := secretFile(t)
	path := filepath.Join(dir, "app.log")
	writeFile(t, path, "one\n")
	pub, logs, _ := runLogged(t, testConfig(dir, nil), newRegistry())
	eventually(t, "the file", func() bool { return slices.Contains(pub.messages(path), "one") })
	symlink(t, secret, path+".tmp")
	appendFile(t, path, "two\n")
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the link logged", func() bool { return len(logLines(t, logs, "symlink not followed", path)) > 0 })
	scansPass(t, pub, dir, 2)
	if got := pub.messages(path); !slices.Equal(got, []string{"one", "two"}) {
		t.Errorf("messages of %s: %q, want the replaced file's and nothing of the link's target", path, got)
	}
}

// TestFollowedTargetNotSearchedWithoutFollowSymlinks: a registry state at a symlink's target outside the globs'
// directories (from a run with follow_symlinks, or a version that always followed links) is not searched for
// and read on once follow_symlinks is off.
func TestFollowedTargetNotSearchedWithoutFollowSymlinks(t *testing.T) {
	root := t.TempDir()
	watched, targets := filepath.Join(root, "containers"), filepath.Join(root, "pods")
	for _, d := range []string{watched, targets} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	target, link := filepath.Join(targets, "0.log"), filepath.Join(watched, "app.log")
	writeFile(t, target, "one\n")
	symlink(t, target, link)
	reg := newRegistry()
	r := start(t, testConfig(watched, func(c *file.Config) { c.FollowSymlinks = true }), reg, file.Options{})
	waitMessages(t, r, link, "one")
	r.pub.ackAll(r.src)
	eventually(t, "the state at the target", func() bool {
		st, _ := reg.get(inodeOf(t, target))
		return st.Path == target && st.Offset == 4
	})
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}

	appendFile(t, target, "two\n")
	pub, logs, _ := runLogged(t, testConfig(watched, nil), reg)
	scansPass(t, pub, watched, 2)
	if got := pub.messages(""); slices.Contains(got, "two") {
		t.Errorf("the link's target was read on without follow_symlinks: %q", got)
	}
	if n := len(logLines(t, logs, "outside the globs' directories", target)); n != 1 {
		t.Errorf("the state outside the globs logged %d times, want once", n)
	}
}

// TestCopyBehindSymlinkNotFollowed: after a truncation, a copy reachable only through a symlink in the file's
// directory is not read without follow_symlinks (with it, it is: TestCopytruncateWhileRunning's cases).
func TestCopyBehindSymlinkNotFollowed(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	path := filepath.Join(dir, "b.log")
	content, old := lines("old", 50)
	writeFile(t, path, content)
	pub, logs, _ := runLogged(t, testConfig(dir, func(c *file.Config) { c.Paths = []string{path} }), newRegistry())
	eventually(t, "every line", func() bool { return len(pub.messages(path)) == len(old) })
	copyPath := filepath.Join(other, "b.log.1")
	writeFile(t, copyPath, content+"unread\n")
	symlink(t, copyPath, path+".1")
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, "new\n")
	eventually(t, "the truncated file read from 0", func() bool { return slices.Contains(pub.messages(path), "new") })
	eventually(t, "the truncation without a copy logged", func() bool {
		return strings.Contains(logs.String(), "no copy of it found")
	})
	if got := pub.messages(""); slices.Contains(got, "unread") {
		t.Errorf("the copy behind a symlink was read: %q", got)
	}
}

// TestSpecialFilesLoggedOnce: named pipes, directories, sockets, devices and symlink loops that a glob matches
// are skipped and logged once per path across scans (directories at debug level, the rest at warn level; without
// follow_symlinks a loop is a skipped link), again after they went away and came back; the regular files next to
// them are read.
func TestSpecialFilesLoggedOnce(t *testing.T) {
	for _, follow := range []bool{false, true} {
		t.Run(fmt.Sprintf("follow_symlinks=%v", follow), func(t *testing.T) {
			dir := t.TempDir()
			at := func(name string) string { return filepath.Join(dir, name) }
			writeFile(t, at("a.log"), "regular\n")
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
			symlink(t, "loop.log", at("loop.log"))
			device := syscall.Mknod(at("null.log"), syscall.S_IFCHR|0o600, 1<<8|3) == nil // /dev/null's numbers
			if !device {
				if os.Getenv("CI") == "true" {
					t.Fatal("mknod refused: CI runs as root and must cover the device case")
				}
				t.Log("mknod refused: the device case is not covered")
			}

			pub, logs, _ := runLogged(t, testConfig(dir, func(c *file.Config) { c.FollowSymlinks = follow }),
				newRegistry())
			eventually(t, "the regular file", func() bool { return slices.Contains(pub.messages(at("a.log")), "regular") })
			scansPass(t, pub, dir, 3)

			const notRegular = "not a regular file"
			want := []struct {
				name, msg, level, typ string
			}{
				{"fifo.log", notRegular, "warn", "named pipe"},
				{"sock.log", notRegular, "warn", "socket"},
				{"dir.log", "directory", "debug", ""},
				{"loop.log", notRegular, "warn", "symlink loop"},
				{"null.log", notRegular, "warn", "device"},
			}
			if !follow {
				want[3] = struct{ name, msg, level, typ string }{"loop.log", "symlink not followed", "info", ""}
			}
			for _, w := range want {
				if w.name == "null.log" && !device {
					continue
				}
				got := logLines(t, logs, w.msg, at(w.name))
				if len(got) != 1 {
					t.Errorf("%s logged %d times over several scans, want once: %s", w.name, len(got), logs.String())
					continue
				}
				if got[0].Level != w.level || got[0].Type != w.typ || got[0].Input != "app" {
					t.Errorf("%s logged as %+v, want level %s, type %q, input app", w.name, got[0], w.level, w.typ)
				}
			}

			// Gone for a scan, then back: logged again.
			if err := os.Remove(at("fifo.log")); err != nil {
				t.Fatal(err)
			}
			scansPass(t, pub, dir, 1)
			if err := syscall.Mkfifo(at("fifo.log"), 0o644); err != nil {
				t.Fatal(err)
			}
			scansPass(t, pub, dir, 1)
			if n := len(logLines(t, logs, notRegular, at("fifo.log"))); n != 2 {
				t.Errorf("a named pipe that went away and came back logged %d times, want twice", n)
			}
			for _, m := range pub.messages("") {
				if m != "regular" && !strings.HasPrefix(m, "scan-") {
					t.Errorf("unexpected message %q", m)
				}
			}
		})
	}
}
