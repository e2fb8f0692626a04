package file_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/sinks/file"
)

func TestParseMode(t *testing.T) {
	tests := []struct {
		in   string
		want fs.FileMode
		err  string // part of the error; "" for none
	}{
		{in: "", want: file.DefaultMode},
		{in: "0600", want: 0o600},
		{in: "0640", want: 0o640},
		{in: "640", want: 0o640},
		{in: "0o644", want: 0o644},
		{in: "0660", want: 0o660},
		{in: "0755", err: "execute bits"},
		{in: "0601", err: "execute bits"},
		{in: "4600", err: "above 0777"},
		{in: "01600", err: "above 0777"},
		{in: "0400", err: "owner needs rw"},
		{in: "0", err: "owner needs rw"},
		{in: "0689", err: "not an octal file mode"},
		{in: "rw-r-----", err: "not an octal file mode"},
		{in: "-0600", err: "not an octal file mode"},
		{in: "0o", err: "not an octal file mode"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := file.ParseMode(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseMode(%q) = %v, %v; want an error with %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseMode(%q) = %#o, %v; want %#o", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestDirMode(t *testing.T) {
	for m, want := range map[fs.FileMode]fs.FileMode{0o600: 0o700, 0o640: 0o750, 0o644: 0o755, 0o660: 0o750,
		0o604: 0o705} {
		if got := file.DirMode(m); got != want {
			t.Errorf("DirMode(%#o) = %#o, want %#o", m, got, want)
		}
	}
}

// withUmask runs f with the process umask set to mask. Not for parallel tests: the umask is the process's.
func withUmask(mask int, f func()) {
	old := syscall.Umask(mask)
	defer syscall.Umask(old)
	f()
}

func permOf(t *testing.T, path string) fs.FileMode {
	t.Helper()
	info, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Mode().Perm()
}

// TestCreatedFileMode: a new file, the directories made for it and the files made by rotation get mode (default
// 0600) and DirMode of it, whatever the umask lets through; never the 0644 and 0755 of old.
func TestCreatedFileMode(t *testing.T) {
	for _, umask := range []int{0, 0o022} {
		for _, mode := range []string{"", "0640"} {
			t.Run(fmt.Sprintf("mode %q umask %03o", mode, umask), func(t *testing.T) {
				configured, err := file.ParseMode(mode)
				if err != nil {
					t.Fatal(err)
				}
				want, wantDir := configured&^fs.FileMode(umask), file.DirMode(configured)&^fs.FileMode(umask)
				dir := filepath.Join(t.TempDir(), "new", "dir")
				path := filepath.Join(dir, "events.ndjson")
				var s *file.Sink
				withUmask(umask, func() {
					s = newSink(t, file.Config{Path: path, RotateBytes: 300, RotateFiles: 2, Mode: mode})
					if err := s.Write(context.Background(), engine.NewBatch(events(testStream(), 0, 10))); err != nil {
						t.Fatal(err)
					}
					closeSink(t, s)
				})
				for _, d := range []string{dir, filepath.Dir(dir)} {
					if got := permOf(t, d); got != wantDir {
						t.Errorf("directory %s: %#o, want %#o", d, got, wantDir)
					}
				}
				for _, p := range []string{path, path + ".1", path + ".2"} {
					if got := permOf(t, p); got != want {
						t.Errorf("%s: %#o, want %#o", p, got, want)
					}
				}
			})
		}
	}
}

// TestExistingFileKeepsMode: the sink does not change the mode of a file it did not create.
func TestExistingFileKeepsMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.ndjson")
	if err := os.WriteFile(path, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	s := newSink(t, file.Config{Path: path})
	if err := s.Write(context.Background(), engine.NewBatch(events(testStream(), 0, 1))); err != nil {
		t.Fatal(err)
	}
	closeSink(t, s)
	if got := permOf(t, path); got != 0o644 {
		t.Errorf("existing file changed to %#o, want its own 0644", got)
	}
}

// plantLink makes path a symbolic link to a file outside the sink's reach holding a known text, as a local user
// who can write to the directory could; it returns the target.
func plantLink(t *testing.T, path string) string {
	t.Helper()
	target := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(target, []byte("keep me\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	return target
}

func requireUntouched(t *testing.T, target string) {
	t.Helper()
	data, err := os.ReadFile(target)
	if err != nil || string(data) != "keep me\n" {
		t.Fatalf("the link's target holds %q (%v), want it untouched", data, err)
	}
}

// requireSymlinkError checks that err refuses the link at path by name, not with a bare ELOOP.
func requireSymlinkError(t *testing.T, err error, path string) {
	t.Helper()
	if !errors.Is(err, file.ErrSymlink) || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %v, want ErrSymlink naming %s", err, path)
	}
}

// TestSymlinkAtPathBeforeStart: New refuses a link at the path, to an existing file or to none (which the old
// O_CREATE would have created), and writes nothing through it.
func TestSymlinkAtPathBeforeStart(t *testing.T) {
	t.Run("to a file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "events.ndjson")
		target := plantLink(t, path)
		_, err := file.New(file.Config{Path: path}, zerolog.New(zerolog.NewTestWriter(t)))
		requireSymlinkError(t, err, path)
		requireUntouched(t, target)
	})
	t.Run("dangling", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "events.ndjson")
		target := filepath.Join(t.TempDir(), "created")
		if err := os.Symlink(target, path); err != nil {
			t.Fatal(err)
		}
		_, err := file.New(file.Config{Path: path}, zerolog.New(zerolog.NewTestWriter(t)))
		requireSymlinkError(t, err, path)
		if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("the link's target was created (%v)", err)
		}
	})
}

// TestSymlinkAtPathBeforeRotation: the file is replaced by a link while the sink runs, then a batch crosses
// rotate_bytes. The batch is refused (Retry, with the error naming the path) and nothing reaches the link's target;
// a link planted at a rotated name is replaced by the rename, its target untouched too.
func TestSymlinkAtPathBeforeRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.ndjson")
	s := newSink(t, file.Config{Path: path, RotateBytes: 1000, RotateFiles: 2})
	defer closeSink(t, s)
	if err := s.Write(context.Background(), engine.NewBatch(events(testStream(), 0, 2))); err != nil {
		t.Fatal(err)
	}
	rotatedTarget := plantLink(t, path+".1")
	if err := os.Rename(path, path+".moved"); err != nil {
		t.Fatal(err)
	}
	target := plantLink(t, path)

	b := engine.NewBatch(events(testStream(), 2, 10))
	err := s.Write(context.Background(), b)
	requireSymlinkError(t, err, path)
	requireStatus(t, b, engine.Retry)
	requireUntouched(t, target)
	requireUntouched(t, rotatedTarget)

	// Once the link is gone the sink writes again, rotating over the link at path.1.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	b = engine.NewBatch(events(testStream(), 2, 10))
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	requireUntouched(t, rotatedTarget)
	if info, err := os.Lstat(path + ".1"); err != nil || !info.Mode().IsRegular() {
		t.Fatalf("%s.1 after rotation: %v, %v; want the rotated regular file in place of the link", path, info, err)
	}
}
