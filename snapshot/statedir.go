package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/store"
)

// ErrUnsafeStateDir means a state dir at a name any local user can predict (the default under $TMPDIR) is not
// this user's alone: a symlink, another user's, or writable by group or others. A registry planted there with a
// high (epoch, seq) would be preferred to the snapshots, so it is refused.
var ErrUnsafeStateDir = errors.New("unsafe state dir")

// PrepareStateDir creates dir, mode 0700, when it is missing. With predictable set (a dir at a fixed name in a
// folder every user can write, such as the default $TMPDIR/flicker), it then refuses a dir that is a symlink, is
// owned by another user or is writable by group or others: ErrUnsafeStateDir, naming its owner and mode. A dir
// chosen explicitly is not refused (Kubernetes emptyDirs are root-owned 0777); in any dir, Restore trusts only a
// registry file this user owns (see Restore).
func PrepareStateDir(dir string, predictable bool) error {
	if !predictable {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("state dir %s: %w", dir, err)
		}
		return nil
	}
	// Mkdir, not MkdirAll: the parent is the shared temp folder, and the dir itself is checked below.
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("state dir %s: %w", dir, err)
	}
	info, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("state dir %s: %w", dir, err)
	}
	uid, euid := owner(info), os.Geteuid()
	var problem string
	switch {
	case info.Mode()&fs.ModeSymlink != 0:
		problem = "is a symlink"
	case !info.IsDir():
		problem = "is not a directory"
	case uid != euid:
		problem = fmt.Sprintf("is owned by another user (uid %d; flicker runs as uid %d)", uid, euid)
	case info.Mode().Perm()&0o022 != 0:
		problem = "is writable by group or others"
	default:
		return nil
	}
	return fmt.Errorf("%w: %s %s (owner uid %d, mode %s)", ErrUnsafeStateDir, dir, problem, uid, info.Mode())
}

// owner is the uid that owns the file info describes; -1 where the platform does not say.
func owner(info fs.FileInfo) int {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

// errDiscarded means the local registry file was untrusted or corrupt and is gone: restore from S3.
var errDiscarded = errors.New("local registry discarded")

// localState checks the registry file left at path in the state dir (a container restart keeps an emptyDir) and
// returns its meta. A file this user cannot trust (a symlink, not a regular file, another user's: anyone who can
// write the dir may have planted it) or that fails bbolt's Check is removed with a warning naming the path and
// the reason, and errDiscarded returned, so the caller restores from S3; a missing file is fs.ErrNotExist.
func localState(path string, log zerolog.Logger) (store.Meta, error) {
	info, err := os.Lstat(path)
	if err != nil {
		return store.Meta{}, err
	}
	var reason string
	switch uid, euid := owner(info), os.Geteuid(); {
	case info.Mode()&fs.ModeSymlink != 0:
		reason = "it is a symlink, not a file flicker wrote"
	case !info.Mode().IsRegular():
		reason = fmt.Sprintf("it is not a regular file (mode %s)", info.Mode())
	case uid != euid:
		reason = fmt.Sprintf("it is owned by uid %d, not by this user (uid %d): another user may have planted it", uid, euid)
	}
	if reason == "" {
		meta, err := openRegistry(path)
		if err == nil || errors.Is(err, store.ErrLocked) {
			return meta, err // locked: another flicker runs on this state dir; never remove its live file
		}
		reason = "it is corrupt: " + err.Error()
	}
	log.Warn().Str("path", path).Str("reason", reason).
		Msg("discarded the local registry: restoring from S3 (lines done since the snapshot will be shipped again)")
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return store.Meta{}, fmt.Errorf("discard local registry %s: %w", path, err)
	}
	return store.Meta{}, errDiscarded
}
