// Package powercut is a test filesystem that loses what a power cut would lose.
//
// Mount(t, dir) mounts a FUSE filesystem over dir, starting from dir's contents. Processes use it like any local
// directory: what they write is what they and everyone else read, mmap included (the kernel page cache serves the
// files, no direct_io). Beside that written state the filesystem keeps a durable state, the disk as it would be
// after a power cut:
//
//   - A file's contents (and size) become durable when that file is fsync'd or fdatasync'd, through any handle.
//     Nothing else writes a file's contents back: the kernel's own writeback is assumed never to have happened,
//     the worst case a crash can leave.
//   - The names (create, mkdir, rename, unlink, rmdir) become durable at the next fsync of any file or directory
//     on the filesystem, all at once and in the order they were made. This is ext4's rule with its journal
//     (data=ordered, no fast_commit): metadata changes are committed as one ordered stream, and every fsync
//     commits the stream up to it. A file created and named durably but never fsync'd is empty after the cut, as
//     on ext4 with delayed allocation.
//
// Crash is the power cut: the filesystem is unmounted and dir holds the durable state; unsynced writes are gone.
// A later Mount of dir starts from it. Durable shows a file's durable state while the mount is in use, for a test
// that waits until something has reached the disk before cutting the power. A test that ends without Crash
// unmounts cleanly and leaves the written state in dir, as a clean unmount would.
//
// # Caveats
//
//   - Mounting needs /dev/fuse and root (it calls mount(2) itself; fusermount is not used). Where it fails, Mount
//     skips the test with the reason, or fails it when CI=true.
//   - The name rule is ext4's, more lenient than POSIX: POSIX makes a new or renamed entry durable only by an
//     fsync of its directory, and a program that relies on some unrelated later fsync passes here.
//   - The contents rule is stricter than a real disk, which may have written back any unsynced page before the
//     cut; torn writes inside a page are not simulated.
//   - Only regular files and directories survive a Crash; symlinks, devices and extended attributes do not.
//     Modes are kept, owners and times are not.
//   - Each fsync copies the whole file and walks the whole tree: meant for small test trees, not for gigabytes.
//   - Crash needs every process using the mount to be gone (kill -9 them first); it fails the test after ten
//     seconds of a busy mount.
package powercut
