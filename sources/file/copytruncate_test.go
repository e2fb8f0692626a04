package file_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/internal/syncbuf"
	"github.com/flickerlog/flicker/sources/file"
)

// copytruncate rotates path the way logrotate does: copy to copyPath (a new file), then truncate in place.
func copytruncate(t *testing.T, path, copyPath string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, copyPath, string(data))
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
}

// assertOnce fails unless got holds every message of want exactly as often as want does, and nothing else.
func assertOnce(t *testing.T, got, want []string) {
	t.Helper()
	wantN, gotN := map[string]int{}, map[string]int{}
	for _, m := range want {
		wantN[m]++
	}
	for _, m := range got {
		gotN[m]++
	}
	for m := range gotN {
		if _, ok := wantN[m]; !ok {
			wantN[m] = 0 // shipped, never written
		}
	}
	bad := 0
	for m, n := range wantN {
		if gotN[m] != n {
			if bad < 5 {
				t.Errorf("%q shipped %d times, want %d", m, gotN[m], n)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Fatalf("%d messages shipped too often or too rarely (%d shipped, %d expected)", bad, len(got), len(want))
	}
}

// copytruncateCases are the places a copy can be: matched by the glob (sorting after or before the file, so
// that one scan sees the copy after or before the truncation) or only in the file's directory.
var copytruncateCases = []struct {
	name, glob, copy string
}{
	{"glob matches the copy, sorting after", "b.log*", "b.log.1"},
	{"glob matches the copy, sorting before", "*.log", "a.log"},
	{"copy in the directory only", "b.log", "b.log.1"},
}

// TestCopytruncateWhileRunning: lines written after the last read and before the copy are read from the copy,
// the copy's beginning is not shipped again, the truncated file is read from 0, and the acknowledgements of the
// events published before the truncation advance the copy's state.
func TestCopytruncateWhileRunning(t *testing.T) {
	for _, tc := range copytruncateCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path, copyPath := filepath.Join(dir, "b.log"), filepath.Join(dir, tc.copy)
			oldContent, old := lines("old", 200) // longer than the fingerprint
			writeFile(t, path, oldContent)
			// The first Publish blocks until the file was copied and truncated: the reader is held after its
			// first read, so the lines appended meanwhile exist only in the copy when it reads on.
			pub, held := heldPublisher()
			reg := newRegistry()
			r := startWith(t, testConfig(dir, func(c *file.Config) { c.Paths = []string{filepath.Join(dir, tc.glob)} }),
				reg, file.Options{}, pub)
			held.wait(t)
			unreadContent, unread := lines("unread", 50)
			appendFile(t, path, unreadContent)
			copytruncate(t, path, copyPath)
			newContent, fresh := lines("new", 20)
			appendFile(t, path, newContent)
			held.release()

			want := append(append(append([]string(nil), old...), unread...), fresh...)
			copySize := int64(len(oldContent) + len(unreadContent))
			eventually(t, "every line shipped and acknowledged", func() bool {
				r.pub.ackAll(r.src)
				cp, _ := reg.get(inodeOf(t, copyPath))
				st, _ := reg.get(inodeOf(t, path))
				return len(r.pub.all()) >= len(want) && cp.Offset == copySize && cp.Path == copyPath &&
					st.Generation == 1 && st.Offset == int64(len(newContent))
			})
			assertOnce(t, r.pub.messages(""), want)
			if s := r.src.Stats(); s.Truncations != 1 || s.TruncatedBytesLost != 0 {
				t.Errorf("truncations %d, bytes lost %d; want 1 and 0", s.Truncations, s.TruncatedBytesLost)
			}
			// The copy's lines continue the file's stream: same ids, one acknowledgement order.
			evs := r.pub.all()
			for _, e := range evs {
				if strings.HasPrefix(e.msg, "unread") && e.Stream != evs[0].Stream {
					t.Fatalf("line %q read from the copy in another stream", e.msg)
				}
			}
		})
	}
}

// TestCopytruncateWhileStopped: the registry's file was copied and truncated while flicker was stopped, with
// lines written after the last commit; the restart reads the copy from the committed offset and the file from 0.
// The new content either differs from the old in its first KiB, or starts with the same banner.
func TestCopytruncateWhileStopped(t *testing.T) {
	banner := "banner " + strings.Repeat("=", 1100) // longer than the fingerprint
	for _, tc := range copytruncateCases {
		for _, sameStart := range []bool{false, true} {
			name := tc.name
			if sameStart {
				name += ", new content with the same first KiB"
			}
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				path, copyPath := filepath.Join(dir, "b.log"), filepath.Join(dir, tc.copy)
				cfg := testConfig(dir, func(c *file.Config) { c.Paths = []string{filepath.Join(dir, tc.glob)} })
				oldContent, old := lines("old", 200)
				if sameStart {
					oldContent, old = banner+"\n"+oldContent, append([]string{banner}, old...)
				}
				writeFile(t, path, oldContent)
				reg := newRegistry()
				r := start(t, cfg, reg, file.Options{})
				eventually(t, "first run committed", func() bool {
					r.pub.ackAll(r.src)
					st, _ := reg.get(inodeOf(t, path))
					return st.Offset == int64(len(oldContent))
				})
				assertOnce(t, r.pub.messages(""), old)
				if err := r.stop(); err != nil {
					t.Fatal(err)
				}

				unreadContent, unread := lines("unread", 50)
				appendFile(t, path, unreadContent)
				copytruncate(t, path, copyPath)
				newContent, fresh := lines("new", 20)
				if sameStart {
					newContent, fresh = banner+"\n"+newContent, append([]string{banner}, fresh...)
				}
				appendFile(t, path, newContent)

				for _, once := range []bool{true, false} {
					t.Run(map[bool]string{true: "once", false: "running"}[once], func(t *testing.T) {
						states, _ := reg.Load("app")
						reg := newRegistry(states...)
						want := append(append([]string(nil), unread...), fresh...)
						var got []string
						if once {
							src, err := file.New(cfg, reg, file.Options{Once: true}, zerolog.Nop())
							if err != nil {
								t.Fatal(err)
							}
							pub := &recPublisher{}
							if err := src.Run(context.Background(), pub); err != nil {
								t.Fatal(err)
							}
							got = pub.messages("")
						} else {
							r := start(t, cfg, reg, file.Options{})
							eventually(t, "the copy read to its end", func() bool {
								r.pub.ackAll(r.src)
								cp, _ := reg.get(inodeOf(t, copyPath))
								st, _ := reg.get(inodeOf(t, path))
								return cp.Offset == int64(len(oldContent)+len(unreadContent)) &&
									st.Offset == int64(len(newContent))
							})
							got = r.pub.messages("")
						}
						assertOnce(t, got, want)
					})
				}
			})
		}
	}
}

// TestPlainCopyIsReadAfterWaiting: a copy of a tracked file that is not truncated (logrotate's copy, a cp by
// hand) is held for a few scans, then read from its beginning like any new file: nothing is lost.
func TestPlainCopyIsReadAfterWaiting(t *testing.T) {
	dir := t.TempDir()
	path, copyPath := filepath.Join(dir, "b.log"), filepath.Join(dir, "c.log")
	content, want := lines("line", 200)
	writeFile(t, path, content)
	r := start(t, testConfig(dir, nil), newRegistry(), file.Options{})
	waitMessages(t, r, path, want...)
	writeFile(t, copyPath, content)
	waitMessages(t, r, copyPath, want...)
	waitMessages(t, r, path, want...)

	// In once mode there is no later scan: both files are read.
	src, err := file.New(testConfig(dir, nil), newRegistry(), file.Options{Once: true}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	pub := &recPublisher{}
	if err := src.Run(context.Background(), pub); err != nil {
		t.Fatal(err)
	}
	assertOnce(t, pub.messages(path), want)
	assertOnce(t, pub.messages(copyPath), want)
}

// TestTruncationWithoutCopyWarns: a truncation with no copy to read on is logged at warn level with the bytes
// known to be lost: seen while running, and seen at a restart as new content on the file's inode.
func TestTruncationWithoutCopyWarns(t *testing.T) {
	t.Run("while running", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "b.log")
		content, want := lines("line", 200)
		writeFile(t, path, content)
		pub, logs, _ := runLogged(t, testConfig(dir, nil), newRegistry())
		eventually(t, "every line", func() bool { return len(pub.messages(path)) == len(want) })
		if err := os.Truncate(path, 0); err != nil {
			t.Fatal(err)
		}
		appendFile(t, path, "after\n")
		eventually(t, "the warning", func() bool {
			return strings.Contains(logs.String(), `"level":"warn"`) &&
				strings.Contains(logs.String(), "no copy of it found") && strings.Contains(logs.String(), `"lost_bytes":0`)
		})
	})
	for _, committed := range []string{"the first line", "everything"} {
		t.Run("while stopped, "+committed+" committed", func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "b.log")
			content, want := lines("line", 200)
			writeFile(t, path, content)
			reg := newRegistry()
			r := start(t, testConfig(dir, nil), reg, file.Options{})
			waitMessages(t, r, path, want...)
			last := r.pub.all()[0]
			if committed == "everything" {
				last = r.pub.all()[len(want)-1]
			}
			r.src.Ack(last.Stream, last.Pos)
			if err := r.stop(); err != nil {
				t.Fatal(err)
			}
			// Same inode, truncated and rewritten (the copy compressed and removed, or none made): lines written
			// after the last observation cannot be counted, the known unread ones are.
			writeFile(t, path, "other content\n")
			pub, logs, _ := runLogged(t, testConfig(dir, nil), reg)
			waitMessages(t, &running{pub: pub}, path, "other content")
			lost := fmt.Sprintf(`"lost_bytes":%d`, len(content)-int(last.Pos))
			eventually(t, "the warning", func() bool {
				return strings.Contains(logs.String(), `"level":"warn"`) && strings.Contains(logs.String(), lost)
			})
		})
	}
}

// runLogged runs a source whose logs are kept, until the test ends.
func runLogged(t *testing.T, cfg file.Config, reg *memRegistry) (*recPublisher, *syncbuf.Buffer, *file.Source) {
	t.Helper()
	logs := &syncbuf.Buffer{}
	src, err := file.New(cfg, reg, file.Options{}, zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	pub := &recPublisher{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, pub) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return pub, logs, src
}

// TestCopySeenBeforeTheTruncation: a scan finds the copy (matched by the glob) before the file is truncated; it
// is held, then claimed by the truncation seen at a later scan, and read on from the file's position.
func TestCopySeenBeforeTheTruncation(t *testing.T) {
	dir := t.TempDir()
	path, copyPath := filepath.Join(dir, "b.log"), filepath.Join(dir, "b.log.1")
	content, old := lines("old", 200)
	writeFile(t, path, content)
	cfg := testConfig(dir, func(c *file.Config) {
		c.Paths = []string{path + "*"}
		c.ScanInterval = 500 * time.Millisecond // the hold lasts two scans: the test truncates well within it
	})
	pub, logs, src := runLogged(t, cfg, newRegistry())
	eventually(t, "every line", func() bool { return len(pub.messages(path)) == len(old) })
	writeFile(t, copyPath, content)
	eventually(t, "a scan found the copy", func() bool {
		return strings.Contains(logs.String(), "waiting for its truncation") || src.Stats().FilesTracked == 2
	})
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	newContent, fresh := lines("new", 20)
	appendFile(t, path, newContent)
	eventually(t, "the new lines, and the copy tracked", func() bool {
		return len(pub.messages(path)) >= len(old)+len(fresh) && src.Stats().FilesTracked == 2
	})
	assertOnce(t, pub.messages(""), append(old, fresh...))
	if strings.Contains(logs.String(), "reading it as a new file") {
		t.Error("the copy was released before the truncation claimed it")
	}
}

// TestSameLinesInTwoFiles: a second file written with the same lines as a tracked one looks like a copy being
// written for as long as both grow alike; it is read after a bounded wait, from its beginning.
func TestSameLinesInTwoFiles(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	content, want := lines("line", 200)
	writeFile(t, a, content)
	r := start(t, testConfig(dir, nil), newRegistry(), file.Options{})
	waitMessages(t, r, a, want...)
	writeFile(t, b, content)
	var more []string
	for i := 0; len(r.pub.messages(b)) == 0; i++ {
		if i == 1000 {
			t.Fatal("the second file was never read while both grew alike")
		}
		line := fmt.Sprintf("more-%04d", i)
		appendFile(t, a, line+"\n")
		appendFile(t, b, line+"\n")
		more = append(more, line)
		time.Sleep(5 * time.Millisecond) // a writer's pace: both files change between scans
	}
	all := append(want, more...)
	waitMessages(t, r, a, all...)
	waitMessages(t, r, b, all...)
}

// TestCopytruncatedPastOffsetWhileHeld: a file opened at its committed offset is copied, truncated and rewritten
// past that offset while the reader is held in a Publish of another file (a new pod waiting for the lease, a full
// queue), a second of the source's clock: the reader must not read on at the old offset in the new content (the
// chaos harness's phantom events, a line's tail without its beginning) but read the copy on from the offset and
// the file from 0.
func TestCopytruncatedPastOffsetWhileHeld(t *testing.T) {
	dir := t.TempDir()
	first, path, copyPath := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log"), filepath.Join(dir, "b.log.1")
	writeFile(t, first, "first\n")
	oldContent, old := lines("old", 200) // longer than the fingerprint
	writeFile(t, path, oldContent)
	reg := newRegistry()
	r := start(t, testConfig(dir, nil), reg, file.Options{})
	eventually(t, "the first run read both files", func() bool { return len(r.pub.all()) == 1+len(old) })
	var committed int64
	for _, e := range r.pub.all() {
		if e.msg == old[99] {
			r.src.Ack(e.Stream, e.Pos) // b.log committed after its 100th line, a.log not at all
			committed = e.Pos
		}
	}
	eventually(t, "b.log committed", func() bool {
		st, _ := reg.get(inodeOf(t, path))
		return st.Offset == committed
	})
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}

	// a.log sorts first: its Publish holds the reader after both files were opened, before b.log is read.
	var skew atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	pub, held := heldPublisher()
	r2 := startWith(t, testConfig(dir, nil), reg, file.Options{Now: clock}, pub)
	held.wait(t)
	copytruncate(t, path, copyPath)
	// Lines of another length than the old ones: the committed offset falls inside one of them.
	newContent, fresh := lines("fresh-line", 200)
	appendFile(t, path, newContent)
	if int64(len(newContent)) <= committed {
		t.Fatalf("the new content (%d bytes) must reach past the committed offset %d", len(newContent), committed)
	}
	skew.Add(int64(time.Second))
	held.release()

	want := append(append([]string{"first"}, old[100:]...), fresh...)
	eventually(t, "every line shipped", func() bool { return len(r2.pub.all()) >= len(want) })
	if got := r2.pub.messages(first); len(got) != 1 {
		t.Fatalf("a.log shipped %q; the reader was to be held in its Publish", got)
	}
	assertOnce(t, r2.pub.messages(""), want)
}

// TestCopytruncatedPastOffsetMidRead: a file copied, truncated and rewritten past the read position between two
// reads of a busy reader (not at its end, not paused for a scan interval, so neither the scan's size check nor
// the head check of a resumed reader sees it) must not go on at the old position in the new content: the bytes
// before the position, read again with the next bytes, have changed. The old content is finished in the copy, the
// new one read from its start. The new contents keep none, 1 (the '-' after a prefix as long as the old one) and
// more than 8 of the bytes just before the position, as rewrites whose lines end where the old ones did do.
func TestCopytruncatedPastOffsetMidRead(t *testing.T) {
	const readSize = 256 << 10             // the first read
	oldContent, old := lines("old", 40000) // more than one read
	withPrefix := func(prefix string) func() string {
		return func() string { c, _ := lines(prefix, 40000); return c }
	}
	for _, c := range []struct {
		name       string
		newContent func() string
		sameTail   int // bytes just before the position the same in both contents, at least
	}{
		{"other last byte", withPrefix("fresh-line"), 0},
		{"same last byte", withPrefix("new"), 1},
		{"same last 8 bytes", func() string {
			b := []byte(oldContent)
			i := bytes.IndexAny(b[readSize-32:readSize-9], "0123456789") + readSize - 32
			b[i] = '0' + (b[i]-'0'+1)%10 // one digit of a line before the position
			return string(b)
		}, 9},
	} {
		t.Run(c.name, func(t *testing.T) {
			newContent := c.newContent()
			same := 0
			for same < readSize && oldContent[readSize-1-same] == newContent[readSize-1-same] {
				same++
			}
			if same < c.sameTail || same >= 32 || (c.sameTail == 0 && same > 0) {
				t.Fatalf("%d bytes before the position are the same in both contents, want %d or more (none for 0), "+
					"under 32", same, c.sameTail)
			}
			fresh := strings.Split(strings.TrimSuffix(newContent, "\n"), "\n")
			dir := t.TempDir()
			path, copyPath := filepath.Join(dir, "b.log"), filepath.Join(dir, "b.log.1")
			writeFile(t, path, oldContent)
			pub, held := heldPublisher()
			cfg := testConfig(dir, func(c *file.Config) { c.ScanInterval = time.Minute })
			r := startWith(t, cfg, newRegistry(), file.Options{}, pub)
			held.wait(t)
			copytruncate(t, path, copyPath)
			appendFile(t, path, newContent)
			held.release()

			want := append(append([]string(nil), old...), fresh...)
			eventually(t, "every line shipped", func() bool { return len(r.pub.all()) >= len(want) })
			assertOnce(t, r.pub.messages(""), want)
		})
	}
}
