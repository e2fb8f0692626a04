package file

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/internal/syncbuf"
)

type nopRegistry struct{}

func (nopRegistry) Load(string) ([]State, error)  { return nil, nil }
func (nopRegistry) Save(string, State)            {}
func (nopRegistry) Remove(string, uint64, uint64) {}

// newTestSource returns a source of the files in dir whose logs go to the returned buffer.
func newTestSource(t *testing.T, dir string, follow bool) (*Source, *syncbuf.Buffer) {
	t.Helper()
	cfg := Config{Name: "app", Paths: []string{filepath.Join(dir, "*.log")}, FollowSymlinks: follow}
	cfg.SetDefaults()
	logs := &syncbuf.Buffer{}
	s, err := New(cfg, nopRegistry{}, Options{}, zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.closeAll)
	return s, logs
}

// TestSymlinkSwappedInAfterTheCheck: the path the scan found a regular file at is a symlink (to that very file,
// moved elsewhere) by the time it is opened. Without follow_symlinks the open refuses it and the link is logged
// as skipped; with follow_symlinks it is read.
func TestSymlinkSwappedInAfterTheCheck(t *testing.T) {
	for _, follow := range []bool{false, true} {
		dir, other := t.TempDir(), t.TempDir()
		path, moved := filepath.Join(dir, "app.log"), filepath.Join(other, "app.log")
		if err := os.WriteFile(path, []byte("one\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		s, logs := newTestSource(t, dir, follow)
		c, kind := s.resolve(path)
		if kind != kindRegular {
			t.Fatalf("%s is a %v", path, kind)
		}
		if err := os.Rename(path, moved); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(moved, path); err != nil {
			t.Fatal(err)
		}
		s.discover(c, true, 0, time.Now())
		tracked := len(s.files) == 1
		logged := strings.Contains(logs.String(), "symlink not followed")
		if tracked != follow || logged == follow {
			t.Errorf("follow_symlinks %v: tracked %v, logged as a skipped link %v; logs: %s", follow, tracked, logged,
				logs.String())
		}
	}
}

// TestNamedPipeSwappedInAfterTheCheck: the path the scan found a regular file at is a named pipe by the time it
// is opened. The open must not block (no writer ever comes), and the pipe is not tracked.
func TestNamedPipeSwappedInAfterTheCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	if err := os.WriteFile(path, []byte("one\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, _ := newTestSource(t, dir, false)
	c, _ := s.resolve(path)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.discover(c, true, 0, time.Now())
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		// Unblock the open by opening the write end, so that the goroutine ends.
		if w, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
			_ = w.Close()
		}
		<-done
		t.Fatal("opening a named pipe blocked")
	}
	if len(s.files) != 0 {
		t.Errorf("the named pipe is tracked")
	}
}

// TestWatched: a path is under a glob's base directory only at a separator ("/var/logs" is not under "/var/log").
func TestWatched(t *testing.T) {
	for _, tt := range []struct {
		globs []string
		path  string
		want  bool
	}{
		{[]string{"/var/log/*.log"}, "/var/log/a.log", true},
		{[]string{"/var/log/*.log"}, "/var/log/app/a.log.1", true},
		{[]string{"/var/log/*.log"}, "/var/logs/a.log", false},
		{[]string{"/var/log/*.log"}, "/var/lib/a.log", false},
		{[]string{"/var/log/app.log"}, "/var/log/app.log.1", true},
		{[]string{"/var/log/app/**/*.log", "/srv/*.log"}, "/srv/x/y.log", true},
		{[]string{"/**/*.log"}, "/anywhere/a.log", true},
	} {
		s := &Source{baseDirs: baseDirs(tt.globs)}
		if got := s.watched(tt.path); got != tt.want {
			t.Errorf("globs %q: watched(%s) = %v, want %v (bases %q)", tt.globs, tt.path, got, tt.want, s.baseDirs)
		}
	}
}
