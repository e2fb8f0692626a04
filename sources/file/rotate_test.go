package file_test

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/sources/file"
)

// byStream groups published messages by stream, in first-publication order.
func byStream(evs []recorded) (streams []*engine.Stream, msgs map[*engine.Stream][]string) {
	msgs = make(map[*engine.Stream][]string)
	for _, e := range evs {
		if _, ok := msgs[e.Stream]; !ok {
			streams = append(streams, e.Stream)
		}
		msgs[e.Stream] = append(msgs[e.Stream], e.msg)
	}
	return streams, msgs
}

func TestRenameCreateWithWriterStillAppending(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, "old-1\nold-2\n")
	w, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r := start(t, testConfig(dir, func(c *file.Config) {
		c.ScanInterval = 50 * time.Millisecond
		c.CloseInactive = 300 * time.Millisecond // the renamed file is kept open until inactive
	}), newRegistry(), file.Options{})
	waitMessages(t, r, path, "old-1", "old-2")

	if err := os.Rename(path, path+".1"); err != nil { // out of the watched set
		t.Fatal(err)
	}
	if _, err := w.WriteString("old-3 after rename\n"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, "new-1\n")

	eventually(t, "both files read and the old one released", func() bool {
		_, msgs := byStream(r.pub.all())
		return len(msgs) == 2 && len(r.pub.all()) == 4
	})
	eventually(t, "both files released once inactive", func() bool { return r.src.Stats().FilesOpen == 0 })
	streams, msgs := byStream(r.pub.all())
	if got := msgs[streams[0]]; !equalStrings(got, []string{"old-1", "old-2", "old-3 after rename"}) {
		t.Errorf("old file: %q", got)
	}
	if got := msgs[streams[1]]; !equalStrings(got, []string{"new-1"}) {
		t.Errorf("new file: %q", got)
	}
	if streams[0].IDSeed == streams[1].IDSeed {
		t.Error("old and new file share an id seed")
	}
}

func TestCopyTruncateAndStaleAcks(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, "before-1\nbefore-2\nbefore-3\n")
	reg := newRegistry()
	r := start(t, testConfig(dir, nil), reg, file.Options{})
	waitMessages(t, r, path, "before-1", "before-2", "before-3")
	old := r.pub.all()

	// copytruncate: copy away, truncate in place, the writer continues at the start.
	if err := os.WriteFile(path+".1", []byte("before-1\nbefore-2\nbefore-3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, "after-1\n")
	waitMessages(t, r, path, "before-1", "before-2", "before-3", "after-1")
	ev := r.pub.all()[3]
	if ev.Offset != 0 || ev.Pos != 8 {
		t.Errorf("after truncation: offset %d pos %d", ev.Offset, ev.Pos)
	}
	if ev.Stream == old[0].Stream || ev.Stream.IDSeed == old[0].Stream.IDSeed {
		t.Error("a new generation must have its own stream and ids")
	}
	if s := r.src.Stats(); s.Truncations != 1 {
		t.Errorf("truncations %d", s.Truncations)
	}
	// The new generation's acknowledgement counts; late ones of the old generation must not overwrite it.
	r.src.Ack(ev.Stream, ev.Pos)
	r.src.Ack(old[2].Stream, old[2].Pos)
	st, _ := reg.get(inodeOf(t, path))
	if st.Generation != 1 || st.Offset != 8 {
		t.Errorf("state generation %d offset %d, want 1 and 8", st.Generation, st.Offset)
	}
}

func TestTruncationToSmallerSize(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, "a long first line\nsecond\n")
	r := start(t, testConfig(dir, nil), newRegistry(), file.Options{})
	waitMessages(t, r, path, "a long first line", "second")
	if err := os.WriteFile(path, []byte("x\n"), 0o644); err != nil { // O_TRUNC then write: same inode
		t.Fatal(err)
	}
	waitMessages(t, r, path, "a long first line", "second", "x")
}

func TestContentReplacedBeyondOldOffset(t *testing.T) {
	// Truncated and rewritten past the old offset: sizes cannot tell, the fingerprint does.
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, "aaaa\n")
	r := start(t, testConfig(dir, nil), newRegistry(), file.Options{})
	waitMessages(t, r, path, "aaaa")
	eventually(t, "reader idle", func() bool { return r.src.Stats().Bytes == 5 })
	time.Sleep(20 * time.Millisecond) // let the reader see EOF; correctness does not depend on it
	if err := os.WriteFile(path, []byte("bbbbbbbbbbbbbbbbbb\ncccc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitMessages(t, r, path, "aaaa", "bbbbbbbbbbbbbbbbbb", "cccc")
}

func TestDeletionWhileReading(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	content, want := lines("line", 20000)
	writeFile(t, path, content+"tail without newline")
	r := start(t, testConfig(dir, func(c *file.Config) { c.FlushPartialOnClose = true }), newRegistry(),
		file.Options{})
	eventually(t, "reading started", func() bool { return len(r.pub.all()) > 0 })
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	eventually(t, "file read to its end and released", func() bool {
		return len(r.pub.all()) == len(want)+1 && r.src.Stats().FilesOpen == 0
	})
	got := r.pub.messages(path)
	if !equalStrings(got, append(want, "tail without newline")) {
		t.Fatalf("got %d messages, last %q", len(got), got[len(got)-1])
	}
}

func fingerprint(b []byte) ([32]byte, int) {
	n := min(len(b), file.FingerprintSize)
	return sha256.Sum256(b[:n]), n
}

func TestResumeFromRegistry(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, "one\ntwo\nthree\n")
	reg := newRegistry()
	r := start(t, testConfig(dir, nil), reg, file.Options{})
	waitMessages(t, r, path, "one", "two", "three")
	first := r.pub.all()
	r.src.Ack(first[0].Stream, first[1].Pos) // "three" is never acknowledged
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	st, _ := reg.get(inodeOf(t, path))
	if st.Offset != 8 || st.FingerprintLen != 14 || st.Path != path {
		t.Fatalf("state %+v", st)
	}

	// The file grows past 1 KiB while flicker is down: the short fingerprint matches as a prefix.
	more, wantMore := lines("more", 200)
	appendFile(t, path, more)
	r2 := start(t, testConfig(dir, nil), reg, file.Options{})
	waitMessages(t, r2, path, append([]string{"three"}, wantMore...)...)
	replay := r2.pub.all()[0]
	if replay.Offset != 8 {
		t.Errorf("resumed at %d, want exactly 8", replay.Offset)
	}
	if got, want := string(replay.AppendID(nil)), string(first[2].AppendID(nil)); got != want {
		t.Errorf("replayed event id %s, first time %s", got, want)
	}
	eventually(t, "fingerprint extended", func() bool {
		st, _ := reg.get(inodeOf(t, path))
		return st.FingerprintLen == file.FingerprintSize
	})
}

func TestIdentityMismatchIsANewFile(t *testing.T) {
	for _, startPos := range []string{"beginning", "end"} {
		t.Run(startPos, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "a.log")
			writeFile(t, path, "new content\n")
			fp, n := fingerprint([]byte("old content that was here\n"))
			reg := newRegistry(file.State{Inode: inodeOf(t, path), Path: path, Offset: 5, Size: 27, Generation: 3,
				Fingerprint: fp, FingerprintLen: n, LastSeen: time.Now()})
			r := start(t, testConfig(dir, func(c *file.Config) { c.StartPosition = startPos }), reg, file.Options{})
			want, _ := fingerprint([]byte("new content\n"))
			eventually(t, "the new file's identity saved", func() bool {
				st, _ := reg.get(inodeOf(t, path))
				return st.Fingerprint == want
			})
			if st, _ := reg.get(inodeOf(t, path)); st.Generation != 4 {
				t.Errorf("generation %d, want the next one (4)", st.Generation)
			}
			if startPos == "beginning" {
				waitMessages(t, r, path, "new content")
			} else {
				appendFile(t, path, "appended\n")
				waitMessages(t, r, path, "appended")
			}
		})
	}
}

func TestRotatedWhileStoppedFoundByIdentity(t *testing.T) {
	for _, excluded := range []bool{false, true} {
		t.Run(map[bool]string{false: "found", true: "excluded"}[excluded], func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "a.log")
			writeFile(t, path, "r1\nr2\nr3\n")
			reg := newRegistry()
			mod := func(c *file.Config) {
				if excluded {
					c.Exclude = []string{"*.1"}
				}
			}
			r := start(t, testConfig(dir, mod), reg, file.Options{})
			waitMessages(t, r, path, "r1", "r2", "r3")
			evs := r.pub.all()
			r.src.Ack(evs[0].Stream, evs[0].Pos)
			if err := r.stop(); err != nil {
				t.Fatal(err)
			}
			// Rotated while stopped, and written to after the rotation.
			if err := os.Rename(path, path+".1"); err != nil {
				t.Fatal(err)
			}
			appendFile(t, path+".1", "r4\n")
			writeFile(t, path, "n1\n")

			r2 := start(t, testConfig(dir, func(c *file.Config) {
				if mod != nil {
					mod(c)
				}
				c.CloseInactive = 300 * time.Millisecond
			}), reg, file.Options{})
			if excluded {
				// The rotated file is not read: what the registry knew it held beyond the offset ("r2\nr3\n") is
				// counted lost, once; "r4", written after the registry's last stat, cannot be.
				waitMessages(t, r2, "", "n1")
				eventually(t, "missing bytes counted", func() bool { return r2.src.Stats().MissingBytesLost > 0 })
				time.Sleep(300 * time.Millisecond) // several scans
				if got := r2.src.Stats().MissingBytesLost; got != 6 {
					t.Errorf("missing bytes lost %d, want 6", got)
				}
				// Counted once: the registry now says so, and the next start does not count it again.
				if err := r2.stop(); err != nil {
					t.Fatal(err)
				}
				r3 := start(t, testConfig(dir, mod), reg, file.Options{})
				eventually(t, "first scan", func() bool { return r3.src.Stats().FilesTracked >= 2 })
				time.Sleep(300 * time.Millisecond)
				if got := r3.src.Stats().MissingBytesLost; got != 0 {
					t.Errorf("the next start counted %d missing bytes again", got)
				}
				return
			}
			eventually(t, "both files", func() bool { return len(r2.pub.all()) == 4 })
			if got := r2.src.Stats().MissingBytesLost; got != 0 {
				t.Errorf("missing bytes lost %d though the rotated file was found", got)
			}
			streams, msgs := byStream(r2.pub.all())
			for _, st := range streams {
				switch st.Path {
				case path + ".1":
					if !equalStrings(msgs[st], []string{"r2", "r3", "r4"}) {
						t.Errorf("rotated file: %q", msgs[st])
					}
				case path:
					if !equalStrings(msgs[st], []string{"n1"}) {
						t.Errorf("new file: %q", msgs[st])
					}
				default:
					t.Errorf("unexpected stream path %s", st.Path)
				}
			}
			// Both files are released once inactive: the rotated one is not kept open forever.
			eventually(t, "rotated file released", func() bool { return r2.src.Stats().FilesOpen == 0 })
		})
	}
}

func TestStartPositionEnd(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, "old\n")
	r := start(t, testConfig(dir, func(c *file.Config) { c.StartPosition = "end" }), newRegistry(), file.Options{})
	eventually(t, "first scan", func() bool { return r.src.Stats().FilesTracked == 1 })
	appendFile(t, path, "new\n")
	later := filepath.Join(dir, "b.log") // files appearing after startup are read from the beginning
	writeFile(t, later, "b1\n")
	waitMessages(t, r, path, "new")
	waitMessages(t, r, later, "b1")
}

func TestCloseInactiveAndReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, "one\npart")
	r := start(t, testConfig(dir, func(c *file.Config) { c.CloseInactive = 20 * time.Millisecond }), newRegistry(),
		file.Options{})
	waitMessages(t, r, path, "one")
	eventually(t, "closed", func() bool { return r.src.Stats().FilesOpen == 0 })
	appendFile(t, path, "ial\ntwo\n")
	waitMessages(t, r, path, "one", "partial", "two")
}

func TestCleanRemovedAfter(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	reg := newRegistry(
		file.State{Inode: 1 << 40, Path: filepath.Join(dir, "gone.log"), LastSeen: now.Add(-2 * time.Hour)},
		file.State{Inode: 1<<40 + 1, Path: filepath.Join(dir, "recent.log"), LastSeen: now.Add(-time.Minute)},
	)
	r := start(t, testConfig(dir, func(c *file.Config) { c.CleanRemovedAfter = time.Hour }), reg, file.Options{})
	eventually(t, "old entry removed", func() bool { _, ok := reg.get(1 << 40); return !ok })
	if _, ok := reg.get(1<<40 + 1); !ok {
		t.Error("recent entry removed")
	}
	_ = r
}

func TestSymlinkAndExclude(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	target := filepath.Join(other, "target.txt")
	writeFile(t, target, "via link\n")
	if err := os.Symlink(target, filepath.Join(dir, "link.log")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, "link2.log")); err != nil { // same file twice: read once
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "skip-me.log"), "excluded by base name\n")
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "sub", "deep.log"), "excluded by path\n")
	writeFile(t, filepath.Join(dir, "sub", "deep.txt"), "not matched\n")
	writeFile(t, filepath.Join(dir, "kept.log"), "kept\n")
	r := start(t, testConfig(dir, func(c *file.Config) {
		c.Paths = []string{filepath.Join(dir, "**", "*.log")}
		c.Exclude = []string{"skip-*", filepath.Join(dir, "sub", "**")}
		c.FollowSymlinks = true
	}), newRegistry(), file.Options{})
	eventually(t, "events", func() bool { return len(r.pub.all()) >= 2 })
	time.Sleep(30 * time.Millisecond) // a few scans: nothing else may appear
	got := r.pub.messages("")
	if len(got) != 2 || !(got[0] == "kept" && got[1] == "via link" || got[0] == "via link" && got[1] == "kept") {
		t.Errorf("messages %q", got)
	}
}

func TestRenameWithinWatchedSet(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, "first\n")
	reg := newRegistry()
	r := start(t, testConfig(dir, func(c *file.Config) { c.Paths = []string{filepath.Join(dir, "a.log*")} }), reg,
		file.Options{})
	waitMessages(t, r, path, "first")
	ino := inodeOf(t, path)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path+".1", "second\n")
	writeFile(t, path, "new\n")
	eventually(t, "all three lines", func() bool { return len(r.pub.all()) == 3 })
	streams, msgs := byStream(r.pub.all())
	if len(streams) != 2 || !equalStrings(msgs[streams[0]], []string{"first", "second"}) {
		t.Errorf("streams %d, first %q", len(streams), msgs[streams[0]])
	}
	eventually(t, "path of the renamed file saved", func() bool {
		st, _ := reg.get(ino)
		return st.Path == path+".1"
	})
	if r.src.Stats().FilesOpen != 2 {
		t.Errorf("a renamed file still matched by the globs stays open")
	}
}

// A file closed for inactivity and then renamed out of the globs is still written to by its writer: those lines
// are read (the file is followed where it was found), and the new file at the path is read too.
func TestClosedFileRenamedAwayStillFollowed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, "before-1\nbefore-2\n")
	w, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r := start(t, testConfig(dir, func(c *file.Config) { c.CloseInactive = 50 * time.Millisecond }), newRegistry(),
		file.Options{})
	waitMessages(t, r, path, "before-1", "before-2")
	eventually(t, "file closed for inactivity", func() bool { return r.src.Stats().FilesOpen == 0 })

	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, "new-1\n")
	eventually(t, "new file read", func() bool { return len(r.pub.all()) == 3 })
	for i := range 3 {
		if _, err := fmt.Fprintf(w, "late-%d\n", i); err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Millisecond) // across scans and inactivity closes
	}
	eventually(t, "late lines of the renamed file", func() bool { return len(r.pub.all()) == 6 })
	_, msgs := byStream(r.pub.all())
	var late []string
	for _, m := range msgs {
		for _, s := range m {
			if strings.HasPrefix(s, "late-") {
				late = append(late, s)
			}
		}
	}
	if !equalStrings(late, []string{"late-0", "late-1", "late-2"}) {
		t.Fatalf("late lines: %q", late)
	}
}
