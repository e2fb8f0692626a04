package file

import (
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// ParseMode reads a mode setting: permission bits in octal, as chmod takes them ("0640", "640" or "0o640").
// Empty is DefaultMode. Execute bits and anything above 0777 (setuid, setgid, sticky) are refused: an event file
// is not a program.
func ParseMode(s string) (fs.FileMode, error) {
	if s == "" {
		return DefaultMode, nil
	}
	digits := strings.TrimPrefix(strings.TrimPrefix(s, "0o"), "0O")
	m, err := strconv.ParseUint(digits, 8, 32)
	switch {
	case err != nil:
		return 0, fmt.Errorf("%q is not an octal file mode: write permission bits as chmod takes them, such as \"0640\"", s)
	case m > 0o777:
		return 0, fmt.Errorf("%q is above 0777: only permission bits are accepted (no setuid, setgid or sticky bit)", s)
	case m&0o111 != 0:
		return 0, fmt.Errorf("%q has execute bits: events are not a program; use %#o", s, m&^0o111)
	case m&0o600 != 0o600:
		return 0, fmt.Errorf("%q does not let flicker read and write its own file: the owner needs rw (6), such as %#o",
			s, m|0o600)
	}
	return fs.FileMode(m), nil
}

// DirMode is the permission of a directory the sink creates for a file of mode m: everything for the owner, and
// read and enter (r-x) for the group and others when m lets them read the file (0600 -> 0700, 0640 -> 0750).
func DirMode(m fs.FileMode) fs.FileMode {
	read := m & 0o044
	return 0o700 | read | read>>2
}
