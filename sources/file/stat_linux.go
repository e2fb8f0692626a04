package file

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// statx stats path relative to dirfd with flags, asking for the birth time as well.
func statx(dirfd int, path string, flags int) (fileInfo, error) {
	var st unix.Statx_t
	err := unix.Statx(dirfd, path, flags|unix.AT_STATX_SYNC_AS_STAT, unix.STATX_BASIC_STATS|unix.STATX_BTIME, &st)
	if err != nil {
		return fileInfo{}, &os.PathError{Op: "statx", Path: path, Err: err}
	}
	info := fileInfo{
		inode: st.Ino, dev: unix.Mkdev(st.Dev_major, st.Dev_minor), nlink: uint64(st.Nlink), size: int64(st.Size),
		mtime: time.Unix(st.Mtime.Sec, int64(st.Mtime.Nsec)),
		kind:  kindOfMode(uint32(st.Mode) & unix.S_IFMT),
	}
	if st.Mask&unix.STATX_BTIME != 0 {
		info.birth = time.Unix(st.Btime.Sec, int64(st.Btime.Nsec)).UnixNano()
	}
	return info, nil
}

// kindOfMode is the kind of file of the type bits (S_IFMT) of a stat's mode.
func kindOfMode(typ uint32) pathKind {
	switch typ {
	case unix.S_IFREG:
		return kindRegular
	case unix.S_IFDIR:
		return kindDir
	case unix.S_IFLNK:
		return kindLink
	case unix.S_IFIFO:
		return kindFIFO
	case unix.S_IFSOCK:
		return kindSocket
	case unix.S_IFCHR, unix.S_IFBLK:
		return kindDevice
	}
	return kindOther
}

// lstatPath stats path without following a final symlink (its kind is then kindLink).
func lstatPath(path string) (fileInfo, error) {
	return statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW)
}

// statPath stats path, following symlinks.
func statPath(path string) (fileInfo, error) {
	return statx(unix.AT_FDCWD, path, 0)
}

// statFile stats an open file.
func statFile(f *os.File) (fileInfo, error) {
	conn, err := f.SyscallConn()
	if err != nil {
		return fileInfo{}, err
	}
	var info fileInfo
	var serr error
	if err := conn.Control(func(fd uintptr) { info, serr = statx(int(fd), "", unix.AT_EMPTY_PATH) }); err != nil {
		return fileInfo{}, err
	}
	return info, serr
}
