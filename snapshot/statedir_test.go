package snapshot_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/snapshot"
	"github.com/flickerlog/flicker/store"
)

// otherUID owns what the tests plant as another local user (they run as root in CI).
const otherUID = 12345

func chown(t *testing.T, path string, uid int) {
	t.Helper()
	if err := os.Lchown(path, uid, uid); err != nil {
		t.Fatalf("chown %s to uid %d (the tests run as root): %v", path, uid, err)
	}
}

func TestPrepareStateDir(t *testing.T) {
	tests := []struct {
		name        string
		plant       func(t *testing.T, dir string) // nil: the dir is missing
		predictable bool
		want        string // "" for success; else a substring of the ErrUnsafeStateDir error
	}{
		{name: "missing default is created 0700", predictable: true},
		{name: "own default 0750 (an older flicker made it)", predictable: true, plant: func(t *testing.T, dir string) {
			mkdir(t, dir, 0o750)
		}},
		{name: "default owned by another user", predictable: true, want: "is owned by another user (uid 12345", plant: func(t *testing.T, dir string) {
			mkdir(t, dir, 0o700)
			chown(t, dir, otherUID)
		}},
		{name: "default writable by others", predictable: true, want: "is writable by group or others", plant: func(t *testing.T, dir string) {
			mkdir(t, dir, 0o777)
		}},
		{name: "default is a symlink", predictable: true, want: "is a symlink", plant: func(t *testing.T, dir string) {
			target := filepath.Join(filepath.Dir(dir), "elsewhere")
			mkdir(t, target, 0o700)
			if err := os.Symlink(target, dir); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "explicit dir like an emptyDir: root's or another's, 0777", predictable: false, plant: func(t *testing.T, dir string) {
			mkdir(t, dir, 0o777)
			chown(t, dir, otherUID)
		}},
		{name: "missing explicit dir is created 0700 with its parents", predictable: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "a", "flicker")
			if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
				t.Fatal(err)
			}
			if tt.plant != nil {
				tt.plant(t, dir)
			}
			err := snapshot.PrepareStateDir(dir, tt.predictable)
			if tt.want != "" {
				if !errors.Is(err, snapshot.ErrUnsafeStateDir) || !strings.Contains(err.Error(), tt.want) ||
					!strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "mode ") {
					t.Fatalf("got %v, want ErrUnsafeStateDir naming %s, %q and the mode", err, dir, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			info, err := os.Stat(dir)
			if err != nil || !info.IsDir() {
				t.Fatalf("state dir: %v %v", info, err)
			}
			if tt.plant == nil && info.Mode().Perm() != 0o700 {
				t.Fatalf("created with mode %s, want 0700", info.Mode().Perm())
			}
		})
	}
}

func mkdir(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	if err := os.Mkdir(dir, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

// TestRestoreDiscardsUntrustedLocal: a local registry newer than the latest snapshot is kept only when this user
// wrote it. One owned by another user, a symlink, or a corrupt file is discarded with a warning naming the path
// and the reason, and the latest snapshot restored instead.
func TestRestoreDiscardsUntrustedLocal(t *testing.T) {
	_, c := restoreEnv(t)
	db := newRegistry(t, 5)
	h := putSnapshot(t, c, testKeys.Latest, db)
	tests := []struct {
		name   string
		plant  func(t *testing.T, path string)
		reason string
	}{
		{"owned by another user", func(t *testing.T, path string) { chown(t, path, otherUID) },
			"it is owned by uid 12345, not by this user (uid 0)"},
		{"a symlink", func(t *testing.T, path string) {
			target := filepath.Join(t.TempDir(), "planted.db")
			if err := os.Rename(path, target); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		}, "it is a symlink"},
		{"corrupt", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("not a bbolt file, but long enough to look at"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "it is corrupt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs lockedLog
			opts := restoreOpts(t, &logs)
			if _, err := snapshot.Restore(leaseContext(t), c, opts); err != nil {
				t.Fatal(err)
			}
			// The local copy moves past the snapshot, as a planted one with a high seq would be.
			local, err := store.Open(opts.Path, store.Options{NoSync: true, CommitInterval: time.Hour}, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			local.PutFile(fileRecord(100))
			flushT(t, local)
			if err := local.Close(); err != nil {
				t.Fatal(err)
			}
			tt.plant(t, opts.Path)

			res, err := snapshot.Restore(leaseContext(t), c, opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.From != snapshot.FromLatest || res.Header.Seq != h.Seq {
				t.Fatalf("restored %+v, want the latest snapshot seq %d instead of the %s local copy", res, h.Seq, tt.name)
			}
			info, err := os.Lstat(opts.Path)
			if err != nil || !info.Mode().IsRegular() {
				t.Fatalf("the installed registry: %v %v", info, err)
			}
			if m := metaOf(t, opts.Path); m.Seq != h.Seq {
				t.Fatalf("installed seq %d, want %d", m.Seq, h.Seq)
			}
			out := logs.String()
			if !strings.Contains(out, `"level":"warn"`) || !strings.Contains(out, "discarded the local registry") ||
				!strings.Contains(out, `"path":"`+opts.Path+`"`) || !strings.Contains(out, tt.reason) {
				t.Fatalf("no warning naming %s and %q:\n%s", opts.Path, tt.reason, out)
			}
		})
	}
}
