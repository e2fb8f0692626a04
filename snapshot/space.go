package snapshot

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// ErrTooLarge means the registry in a snapshot is larger than the disk it is restored to can take: its header
// claims more, or it ran out of room while expanding. Waiting does not help; more room, or another snapshot,
// does. The error names the key (through Fetch), both sizes and the dir.
var ErrTooLarge = errors.New("snapshot too large for the disk")

// maxFreeMargin is the most a restore leaves free on the state dir's filesystem: the registry grows as it runs,
// and each snapshot build copies it next to itself. On a small disk the margin is an eighth of the free space.
const maxFreeMargin = 64 << 20

// spaceLimit is how far a restore may expand in a dir: the free space there less a margin, at most MaxRawSize.
type spaceLimit struct {
	dir         string
	free, limit int64
}

// expansionLimit reads the free space of dir's filesystem (for an unprivileged user: root's reserve does not
// count) and sets the limit a snapshot may expand to there.
func expansionLimit(dir string) (spaceLimit, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return spaceLimit{}, fmt.Errorf("free space in %s: %w", dir, err)
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	return spaceLimit{dir: dir, free: free, limit: max(0, min(int64(MaxRawSize), free-min(maxFreeMargin, free/8)))}, nil
}

// tooLargeError names the sizes; it matches ErrTooLarge.
type tooLargeError struct {
	space   spaceLimit
	size    int64 // the header's raw size, or what was written when the disk filled
	claimed bool  // size is the header's claim, checked before writing
}

func (e *tooLargeError) Error() string {
	what := fmt.Sprintf("the registry in the snapshot is %d bytes (its header's raw size)", e.size)
	if !e.claimed {
		what = fmt.Sprintf("the disk filled after %d bytes of the registry in the snapshot", e.size)
	}
	return fmt.Sprintf("%s, and %s has %d bytes free (a restore uses at most %d of them): give the state dir "+
		"more room, or look at the snapshots with `flicker restore --list --verify`", what, e.space.dir,
		e.space.free, e.space.limit)
}

func (e *tooLargeError) Is(target error) bool { return target == ErrTooLarge }
