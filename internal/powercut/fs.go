package powercut

import (
	"bytes"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// unmountTimeout bounds how long Crash and the cleanup wait for a busy mount (a process still holding a file).
const unmountTimeout = 10 * time.Second

// FS is a mounted power-cut filesystem. Its methods are for the test goroutine. go-fuse serves the mount from its
// own goroutines, which end when Crash or the test's cleanup unmounts it.
type FS struct {
	t       testing.TB
	dir     string // the mount point
	written string // the written state, a plain directory the mount serves
	server  *fuse.Server

	// mu orders fsyncs, name changes that free an inode number, and the cut.
	mu     sync.Mutex
	ids    map[uint64]uint64 // inode number in written -> file identity; inode numbers are reused, identities not
	nextID uint64
	names  map[string]entry  // durable names, by path relative to the root
	data   map[uint64][]byte // durable contents, by identity
	cut    bool              // after the power cut nothing more becomes durable
}

// entry is what a durable name refers to.
type entry struct {
	dir  bool
	perm fs.FileMode
	id   uint64 // of a regular file
}

// Mount mounts a power-cut filesystem at dir, starting from dir's contents (all of them durable). The test ends
// with a clean unmount that leaves the written state in dir, unless Crash cut the power first.
func Mount(t testing.TB, dir string) *FS {
	t.Helper()
	f := &FS{t: t, dir: dir, written: filepath.Join(t.TempDir(), "written"), ids: map[uint64]uint64{}}
	names, data, err := scan(dir, true)
	if err == nil {
		err = materialize(f.written, names, data)
	}
	if err == nil {
		// Everything there at the start is durable.
		names, data, err = scan(f.written, true)
		f.adopt(names, data)
	}
	if err != nil {
		t.Fatalf("powercut: copy %s: %v", dir, err)
	}

	var st syscall.Stat_t
	if err := syscall.Stat(f.written, &st); err != nil {
		t.Fatal(err)
	}
	lroot := &fusefs.LoopbackRoot{Path: f.written, Dev: st.Dev}
	root := &node{LoopbackNode: &fusefs.LoopbackNode{RootData: lroot}, fs: f}
	lroot.RootNode = root
	server, err := fusefs.Mount(dir, root, &fusefs.Options{MountOptions: fuse.MountOptions{
		DirectMountStrict: true, // root calls mount(2) itself: no fusermount needed
		FsName:            "powercut",
		Name:              "powercut",
	}})
	if err != nil {
		detachFailedMount(dir)
		if os.Getenv("CI") == "true" {
			t.Fatalf("powercut: mount FUSE at %s: %v", dir, err)
		}
		t.Skipf("powercut: cannot mount FUSE at %s (needs root and /dev/fuse): %v", dir, err)
	}
	f.server = server
	t.Cleanup(f.cleanup)
	return f
}

// Crash cuts the power: the filesystem is unmounted and dir holds what was durable at the call; writes not yet
// fsync'd are gone. Every process using the mount must be gone first (kill -9 them): Crash fails the test if the
// mount stays busy.
func (f *FS) Crash() {
	f.t.Helper()
	if f.server == nil {
		f.t.Fatal("powercut: Crash of an unmounted filesystem")
	}
	f.mu.Lock()
	f.cut = true
	names, data := f.names, f.data
	f.mu.Unlock()
	if err := f.unmount(); err != nil {
		f.t.Fatalf("powercut: unmount %s (kill every process using it first): %v", f.dir, err)
	}
	if err := materialize(f.dir, names, data); err != nil {
		f.t.Fatalf("powercut: write the durable state to %s: %v", f.dir, err)
	}
}

// Durable returns what the regular file at name (relative to the mount) would hold after a power cut now, and
// whether it would be there at all. A test can check the durable state while processes still run.
func (f *FS) Durable(name string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.names[filepath.Clean(name)]
	if !ok || e.dir {
		return nil, false
	}
	return bytes.Clone(f.data[e.id]), true
}

// cleanup unmounts cleanly and leaves the written state in dir.
func (f *FS) cleanup() {
	if f.server == nil {
		return // crashed
	}
	if err := f.unmount(); err != nil {
		f.t.Errorf("powercut: unmount %s: %v", f.dir, err)
		return
	}
	names, data, err := scan(f.written, true)
	if err == nil {
		err = materialize(f.dir, names, data)
	}
	if err != nil {
		f.t.Errorf("powercut: write the state to %s: %v", f.dir, err)
	}
}

// detachFailedMount removes what a failed mount left at dir: go-fuse may have mounted before the kernel's
// handshake failed, and returns no server to unmount it with.
func detachFailedMount(dir string) {
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) == nil && st.Type == fuseSuperMagic {
		_ = syscall.Unmount(dir, syscall.MNT_DETACH)
	}
}

// fuseSuperMagic is the filesystem type statfs reports for a FUSE mount.
const fuseSuperMagic = 0x65735546

// unmount retries while the mount is busy: a killed process's files close a moment after it is reaped.
func (f *FS) unmount() error {
	deadline := time.Now().Add(unmountTimeout)
	for {
		err := f.server.Unmount() // retries briefly itself
		if err == nil {
			f.server = nil
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fsync makes the names durable and, for a regular file open as fd (or at path when fd < 0), its contents.
func (f *FS) fsync(path string, fd int) syscall.Errno {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cut {
		return syscall.EIO
	}
	if err := f.commitNames(); err != nil {
		return fusefs.ToErrno(err)
	}
	if fd < 0 {
		file, err := os.Open(path)
		if err != nil {
			return fusefs.ToErrno(err)
		}
		defer file.Close()
		fd = int(file.Fd())
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return fusefs.ToErrno(err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return 0
	}
	b, err := readFd(fd, st.Size)
	if err != nil {
		return fusefs.ToErrno(err)
	}
	f.data[f.idOf(st.Ino)] = b
	return 0
}

// commitNames makes the names in the written state durable, as a journal commit does, and drops the durable
// contents of files no longer named.
func (f *FS) commitNames() error {
	names, _, err := scan(f.written, false)
	if err != nil {
		return err
	}
	f.adopt(names, nil)
	return nil
}

// adopt makes names (from scan of the written state, ids still inode numbers) the durable names, with the contents
// in byIno.
func (f *FS) adopt(names map[string]entry, byIno map[uint64][]byte) {
	data := make(map[uint64][]byte, len(f.data))
	for p, e := range names {
		if e.dir {
			continue
		}
		ino := e.id
		e.id = f.idOf(ino)
		names[p] = e
		if b, ok := byIno[ino]; ok {
			data[e.id] = b
		} else if b, ok := f.data[e.id]; ok {
			data[e.id] = b
		}
	}
	f.names, f.data = names, data
}

// idOf is the identity of the file with inode number ino in the written state.
func (f *FS) idOf(ino uint64) uint64 {
	id, ok := f.ids[ino]
	if !ok {
		f.nextID++
		id = f.nextID
		f.ids[ino] = id
	}
	return id
}

// removing runs remove (an unlink, rmdir or rename over path in the written state) and forgets the inode number of
// what it removed, so that a file that later gets the same number is a new file.
func (f *FS) removing(path string, remove func() syscall.Errno) syscall.Errno {
	f.mu.Lock()
	defer f.mu.Unlock()
	var st syscall.Stat_t
	before := syscall.Lstat(path, &st)
	errno := remove()
	if errno == 0 && before == nil && (st.Nlink <= 1 || st.Mode&syscall.S_IFMT == syscall.S_IFDIR) {
		delete(f.ids, st.Ino)
	}
	return errno
}

// readFd reads the first size bytes of the file open as fd without moving its offset.
func readFd(fd int, size int64) ([]byte, error) {
	b := make([]byte, size)
	for off := 0; off < len(b); {
		n, err := syscall.Pread(fd, b[off:], int64(off))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return b[:off], nil // shrunk meanwhile
		}
		off += n
	}
	return b, nil
}

// scan reads the tree at root: its regular files and directories by path relative to root (a file's id is its
// inode number), and with contents what each file holds, by inode number.
func scan(root string, contents bool) (map[string]entry, map[uint64][]byte, error) {
	names := map[string]entry{}
	var data map[uint64][]byte
	if contents {
		data = map[uint64][]byte{}
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == root {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		switch {
		case info.IsDir():
			names[rel] = entry{dir: true, perm: info.Mode().Perm()}
		case info.Mode().IsRegular():
			ino := info.Sys().(*syscall.Stat_t).Ino
			names[rel] = entry{perm: info.Mode().Perm(), id: ino}
			if contents {
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				data[ino] = b
			}
		}
		return nil
	})
	return names, data, err
}

// materialize replaces what root holds with names and the contents in data (files without are empty).
func materialize(root string, names map[string]entry, data map[uint64][]byte) error {
	old, err := os.ReadDir(root)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, e := range old {
		if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	// A directory's path sorts before the paths inside it.
	for _, rel := range slices.Sorted(maps.Keys(names)) {
		e, path := names[rel], filepath.Join(root, rel)
		if e.dir {
			err = os.Mkdir(path, e.perm)
		} else {
			err = os.WriteFile(path, data[e.id], e.perm)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
