package powercut_test

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/flickerlog/flicker/internal/durable"
	"github.com/flickerlog/flicker/internal/powercut"
)

func TestCrash(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// do works on the mount at dir; want is what dir holds after the crash (path -> contents; "/" ends a
		// directory), every other path must be gone.
		do   func(x *fixture)
		want map[string]string
	}{
		{
			name: "write and fsync survive",
			do: func(x *fixture) {
				f := x.create("a")
				write(x.t, f, "synced")
				sync(x.t, f)
				must(x.t, durable.SyncDir(x.dir))
			},
			want: map[string]string{"a": "synced"},
		},
		{
			name: "fdatasync counts as fsync",
			do: func(x *fixture) {
				f := x.create("a")
				write(x.t, f, "synced")
				must(x.t, syscall.Fdatasync(int(f.Fd())))
			},
			want: map[string]string{"a": "synced"},
		},
		{
			name: "a write without fsync is gone",
			do: func(x *fixture) {
				f := x.create("a")
				write(x.t, f, "synced")
				sync(x.t, f)
				write(x.t, f, " lost")
				must(x.t, f.Close())
			},
			want: map[string]string{"a": "synced"},
		},
		{
			name: "a file named durably but never synced is empty",
			do: func(x *fixture) {
				write(x.t, x.create("a"), "lost")
				must(x.t, durable.SyncDir(x.dir))
			},
			want: map[string]string{"a": ""},
		},
		{
			name: "a new file without any fsync is gone",
			do: func(x *fixture) {
				write(x.t, x.create("a"), "lost")
			},
			want: map[string]string{},
		},
		{
			name: "a rename without fsync is gone",
			do: func(x *fixture) {
				f := x.create("tmp")
				write(x.t, f, "new")
				sync(x.t, f)
				must(x.t, os.Rename(filepath.Join(x.dir, "tmp"), filepath.Join(x.dir, "a")))
			},
			want: map[string]string{"tmp": "new"},
		},
		{
			name: "a rename with a directory fsync survives",
			do: func(x *fixture) {
				f := x.create("tmp")
				write(x.t, f, "new")
				sync(x.t, f)
				must(x.t, os.Rename(filepath.Join(x.dir, "tmp"), filepath.Join(x.dir, "a")))
				must(x.t, durable.SyncDir(x.dir))
			},
			want: map[string]string{"a": "new"},
		},
		{
			name: "an unlink without fsync is gone",
			do: func(x *fixture) {
				f := x.create("a")
				write(x.t, f, "kept")
				sync(x.t, f)
				must(x.t, f.Close())
				must(x.t, os.Remove(filepath.Join(x.dir, "a")))
			},
			want: map[string]string{"a": "kept"},
		},
		{
			// A new file may get the inode number of a removed one: it must not inherit its durable contents.
			name: "a removed file's contents do not pass to a new file",
			do: func(x *fixture) {
				for i := range 20 {
					f := x.create("old")
					write(x.t, f, "old")
					sync(x.t, f)
					must(x.t, f.Close())
					must(x.t, os.Remove(filepath.Join(x.dir, "old")))
					write(x.t, x.create("new"+string(rune('a'+i))), "unsynced")
				}
				must(x.t, durable.SyncDir(x.dir))
			},
			want: func() map[string]string {
				m := map[string]string{}
				for i := range 20 {
					m["new"+string(rune('a'+i))] = ""
				}
				return m
			}(),
		},
		{
			name: "directories",
			do: func(x *fixture) {
				must(x.t, os.Mkdir(filepath.Join(x.dir, "d"), 0o755))
				f := x.create("d/a")
				write(x.t, f, "deep")
				sync(x.t, f)
				must(x.t, os.Mkdir(filepath.Join(x.dir, "e"), 0o755)) // after the last fsync
			},
			want: map[string]string{"d/": "", "d/a": "deep"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			x := &fixture{t: t, dir: t.TempDir()}
			fsys := powercut.Mount(t, x.dir)
			tt.do(x)
			x.closeAll()
			fsys.Crash()
			dir := x.dir
			if got := tree(t, dir); !maps.Equal(got, tt.want) {
				t.Fatalf("after the crash dir holds %q, want %q", got, tt.want)
			}
		})
	}
}

// TestMountStartsFromDir: a mount serves what dir held, and a second crash keeps what the first left.
func TestMountStartsFromDir(t *testing.T) {
	t.Parallel()
	x := &fixture{t: t, dir: t.TempDir()}
	must(t, os.WriteFile(filepath.Join(x.dir, "before"), []byte("there"), 0o644))
	fsys := powercut.Mount(t, x.dir)
	if b, err := os.ReadFile(filepath.Join(x.dir, "before")); err != nil || string(b) != "there" {
		t.Fatalf("read through the mount: %q, %v", b, err)
	}
	fsys.Crash()
	fsys = powercut.Mount(t, x.dir)
	write(t, x.create("lost"), "x")
	x.closeAll()
	fsys.Crash()
	want := map[string]string{"before": "there"}
	if got := tree(t, x.dir); !maps.Equal(got, want) {
		t.Fatalf("after two crashes dir holds %q, want %q", got, want)
	}
}

// TestDurable: Durable shows the durable state of a file while the mount is in use.
func TestDurable(t *testing.T) {
	t.Parallel()
	x := &fixture{t: t, dir: t.TempDir()}
	fsys := powercut.Mount(t, x.dir)
	f := x.create("a")
	write(t, f, "synced")
	if b, ok := fsys.Durable("a"); ok {
		t.Fatalf("a new file before any fsync: Durable = %q, want absent", b)
	}
	sync(t, f)
	write(t, f, " unsynced")
	if b, ok := fsys.Durable("a"); !ok || string(b) != "synced" {
		t.Fatalf("after fsync and a write: Durable = %q, %v, want %q", b, ok, "synced")
	}
	x.closeAll()
}

// TestCleanUnmountKeepsWrites: a test that ends without Crash leaves the written state in dir.
func TestCleanUnmountKeepsWrites(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	t.Run("mounted", func(t *testing.T) {
		x := &fixture{t: t, dir: dir}
		powercut.Mount(t, dir)
		write(t, x.create("a"), "unsynced")
		x.closeAll()
	})
	want := map[string]string{"a": "unsynced"}
	if got := tree(t, dir); !maps.Equal(got, want) {
		t.Fatalf("after a clean unmount dir holds %q, want %q", got, want)
	}
}

// TestMmapSeesWrites: bbolt reads its file through a shared mmap while writing it with pwrite, so a mapping must see
// writes made after it was set up, through the same and through another descriptor.
func TestMmapSeesWrites(t *testing.T) {
	t.Parallel()
	x := &fixture{t: t, dir: t.TempDir()}
	powercut.Mount(t, x.dir)
	const size = 2 * 4096
	f := x.create("db")
	must(t, f.Truncate(size))
	m, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatalf("mmap on the mount: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Munmap(m) }) // before the unmount
	if _, err := f.WriteAt([]byte("page one"), 0); err != nil {
		t.Fatal(err)
	}
	other, err := os.OpenFile(filepath.Join(x.dir, "db"), os.O_RDWR, 0)
	must(t, err)
	x.files = append(x.files, other)
	if _, err := other.WriteAt([]byte("page two"), 4096); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(m, []byte("page one")) || !bytes.HasPrefix(m[4096:], []byte("page two")) {
		t.Fatalf("the mapping does not see the writes: %q ... %q", m[:8], m[4096:4104])
	}
	x.closeAll()
}

// fixture is one mount's test: its directory and the files the test opened there, to close before the unmount.
type fixture struct {
	t     *testing.T
	dir   string
	files []*os.File
}

// create creates (or truncates) name under the mount.
func (x *fixture) create(name string) *os.File {
	x.t.Helper()
	f, err := os.OpenFile(filepath.Join(x.dir, name), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	must(x.t, err)
	x.files = append(x.files, f)
	return f
}

// closeAll closes what create opened: a mount with open files cannot be unmounted.
func (x *fixture) closeAll() {
	for _, f := range x.files {
		_ = f.Close()
	}
	x.files = nil
}

func write(t *testing.T, f *os.File, s string) {
	t.Helper()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func sync(t *testing.T, f *os.File) {
	t.Helper()
	must(t, f.Sync())
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// tree maps each path under dir to its contents; directories end with "/" and map to "".
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			got[rel+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(path)
		got[rel] = string(b)
		return err
	})
	must(t, err)
	return got
}
