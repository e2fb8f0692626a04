//go:build linux

package file_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flickerlog/flicker/sources/file"
)

// identityOf returns the device, inode and birth time of path (zero birth when the filesystem has none).
func identityOf(t *testing.T, path string) (dev, inode uint64, birth time.Time) {
	t.Helper()
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, 0, unix.STATX_BASIC_STATS|unix.STATX_BTIME, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mask&unix.STATX_BTIME != 0 {
		birth = time.Unix(st.Btime.Sec, int64(st.Btime.Nsec)).UTC()
	}
	return unix.Mkdev(st.Dev_major, st.Dev_minor), st.Ino, birth
}

// A stored state whose inode, device and first bytes match the file on disk but whose birth time differs is
// another file (deleted and recreated on the reused inode while flicker was stopped): it is read from the start,
// in the next generation. With the device unknown (a record from an older registry format) the same holds.
func TestBirthTimeMismatchIsANewFile(t *testing.T) {
	for _, deviceKnown := range []bool{true, false} {
		t.Run(map[bool]string{true: "device known", false: "device unknown"}[deviceKnown], func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "a.log")
			writeFile(t, path, "same first line\nsecond\nthird\n")
			dev, inode, birth := identityOf(t, path)
			if birth.IsZero() {
				t.Skip("the filesystem of the temp dir reports no birth time")
			}
			fp, n := fingerprint([]byte("same first line\nsecond\nthird\n"))
			st := file.State{Inode: inode, Device: dev, Path: path, Offset: int64(len("same first line\nsecond\n")),
				Size: 30, Generation: 2, Fingerprint: fp, FingerprintLen: n, LastSeen: time.Now(),
				Birth: birth.Add(-time.Second)}
			if !deviceKnown {
				st.Device = 0
			}
			reg := newRegistry(st)
			r := start(t, testConfig(dir, nil), reg, file.Options{})
			waitMessages(t, r, path, "same first line", "second", "third")
			eventually(t, "the new file's state saved", func() bool {
				got, _ := reg.get(inode)
				return got.Birth.Equal(birth) && got.Device == dev && got.Generation == 3
			})
		})
	}
}

// The same state with the file's own birth time (or an unknown one) resumes at its offset.
func TestBirthTimeMatchResumes(t *testing.T) {
	for _, stored := range []string{"same", "unknown"} {
		t.Run(stored, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "a.log")
			writeFile(t, path, "same first line\nsecond\nthird\n")
			dev, inode, birth := identityOf(t, path)
			fp, n := fingerprint([]byte("same first line\nsecond\nthird\n"))
			st := file.State{Inode: inode, Device: dev, Path: path, Offset: int64(len("same first line\nsecond\n")),
				Size: 30, Fingerprint: fp, FingerprintLen: n, LastSeen: time.Now(), Birth: birth}
			if stored == "unknown" {
				st.Birth = time.Time{}
			}
			reg := newRegistry(st)
			r := start(t, testConfig(dir, nil), reg, file.Options{})
			waitMessages(t, r, path, "third")
			eventually(t, "the birth time saved", func() bool {
				got, _ := reg.get(inode)
				return got.Birth.Equal(birth)
			})
		})
	}
}

// A state with an unknown fingerprint (a format 1 registry, an import) resumes at its offset in the file with its
// inode that is at least that long, and gets the fingerprint, device and birth time filled in. A shorter file is
// another one: read from the start.
func TestUnknownFingerprintMatchesByOffset(t *testing.T) {
	content, msgs := lines("l", 100)
	offset := int64(strings.Index(content, "l-0040"))
	for _, tt := range []struct {
		name, startPos string
		size           int // bytes of content written
		want           []string
	}{
		{"longer than the offset", "beginning", len(content), msgs[40:]},
		{"longer than the offset, start at end", "end", len(content), msgs[40:]},
		{"shorter than the offset", "beginning", int(offset) - 7*10, msgs[:30]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "a.log")
			writeFile(t, path, content[:tt.size])
			dev, inode, birth := identityOf(t, path)
			reg := newRegistry(file.State{Inode: inode, Path: path, Offset: offset, LastSeen: time.Now()})
			r := start(t, testConfig(dir, func(c *file.Config) { c.StartPosition = tt.startPos }), reg,
				file.Options{})
			waitMessages(t, r, path, tt.want...)
			wantFP, wantLen := fingerprint([]byte(content[:tt.size]))
			eventually(t, "fingerprint, device and birth time saved", func() bool {
				got, _ := reg.get(inode)
				return got.FingerprintLen == wantLen && got.Fingerprint == wantFP && got.Device == dev &&
					got.Birth.Equal(birth)
			})
		})
	}
}

// With follow_symlinks, a file found through a symlink is tracked where its target lives: rotated (renamed)
// while the source was stopped, its unread tail is found in the target's directory, which the globs do not
// cover. Events keep the link's path.
func TestSymlinkTargetFoundAfterRotation(t *testing.T) {
	root := t.TempDir()
	watched, targets := filepath.Join(root, "containers"), filepath.Join(root, "pods")
	for _, d := range []string{watched, targets} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	target, link := filepath.Join(targets, "0.log"), filepath.Join(watched, "app.log")
	writeFile(t, target, "one\ntwo\n")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	follow := func(c *file.Config) { c.FollowSymlinks = true }
	reg := newRegistry()
	r := start(t, testConfig(watched, follow), reg, file.Options{})
	waitMessages(t, r, link, "one", "two")
	r.pub.ackAll(r.src)
	_, inode, _ := identityOf(t, target)
	eventually(t, "the acknowledged offset saved", func() bool {
		st, _ := reg.get(inode)
		return st.Offset == int64(len("one\ntwo\n"))
	})
	if st, _ := reg.get(inode); st.Path != target {
		t.Errorf("state saved at %s, want the target's path %s", st.Path, target)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}

	appendFile(t, target, "three\n")
	if err := os.Rename(target, target+".20260101"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, target, "new\n")
	r = start(t, testConfig(watched, follow), reg, file.Options{})
	waitMessages(t, r, target+".20260101", "three")
	waitMessages(t, r, link, "new")
}
