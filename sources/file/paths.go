package file

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/bmatcuk/doublestar/v4"
)

// pathKind is what a path is, as far as reading it goes. Only kindRegular is read.
type pathKind uint8

const (
	kindGone    pathKind = iota // not there (any more), or a symlink to nothing: nothing to say
	kindRegular                 // a regular file, or with follow_symlinks a symlink to one
	kindLink                    // a symlink, not followed without follow_symlinks
	kindLoop                    // a symlink that leads back to itself (with follow_symlinks)
	kindDir
	kindFIFO
	kindSocket
	kindDevice
	kindOther
)

func (k pathKind) String() string {
	switch k {
	case kindRegular:
		return "regular file"
	case kindLink:
		return "symlink"
	case kindLoop:
		return "symlink loop"
	case kindDir:
		return "directory"
	case kindFIFO:
		return "named pipe"
	case kindSocket:
		return "socket"
	case kindDevice:
		return "device"
	case kindGone:
		return "missing"
	}
	return "special file"
}

// kindOfFileMode is the kind of file of an os.FileMode.
func kindOfFileMode(m fs.FileMode) pathKind {
	switch m.Type() {
	case 0:
		return kindRegular
	case fs.ModeDir:
		return kindDir
	case fs.ModeSymlink:
		return kindLink
	case fs.ModeNamedPipe:
		return kindFIFO
	case fs.ModeSocket:
		return kindSocket
	case fs.ModeDevice, fs.ModeDevice | fs.ModeCharDevice:
		return kindDevice
	}
	return kindOther
}

// resolve stats path. A symlink is followed only with follow_symlinks, and the file is then tracked where its
// target lives, so that it is searched for there after rotation. The kind is kindRegular when c is a file to
// read; otherwise c holds what is known (the link in c.link once followed).
func (s *Source) resolve(path string) (candidate, pathKind) {
	info, err := lstatPath(path)
	if err != nil {
		return candidate{}, kindGone
	}
	c := candidate{path: path, info: info}
	if info.kind == kindLink {
		if !s.cfg.FollowSymlinks {
			return c, kindLink
		}
		target, err := filepath.EvalSymlinks(path)
		if err != nil {
			// EvalSymlinks says "too many links" without an errno; the kernel's stat says ELOOP.
			if _, err := statPath(path); errors.Is(err, syscall.ELOOP) {
				return c, kindLoop
			}
			return candidate{}, kindGone
		}
		if c.info, err = statPath(target); err != nil {
			return candidate{}, kindGone
		}
		c.path, c.link = target, path
	}
	if c.info.birth == 0 && c.info.kind == kindRegular && !s.noBirth {
		s.noBirth = true
		s.log.Warn().Str("path", c.path).Msg("the filesystem does not report birth times: a file deleted and " +
			"recreated on the same inode with the same first 1 KiB while flicker is stopped is taken for the old one")
	}
	return c, c.info.kind
}

// stat stats path the way the source reads it: following a final symlink only with follow_symlinks (without,
// a link's kind is kindLink).
func (s *Source) stat(path string) (fileInfo, error) {
	if s.cfg.FollowSymlinks {
		return statPath(path)
	}
	return lstatPath(path)
}

// openFile opens path for reading. Without follow_symlinks the open itself refuses a final symlink (ELOOP), also
// one swapped in after the path was checked. O_NONBLOCK keeps a named pipe swapped in from blocking the open (a
// regular file's reads ignore it); the callers compare the opened file's identity with the one they expect.
func (s *Source) openFile(path string) (*os.File, error) {
	flag := os.O_RDONLY | syscall.O_NONBLOCK
	if !s.cfg.FollowSymlinks {
		flag |= syscall.O_NOFOLLOW
	}
	return os.OpenFile(path, flag, 0)
}

// openRefusedLink reports whether openFile(path) failed because path is a symlink and follow_symlinks is off
// (Linux says ELOOP, FreeBSD EMLINK: the path is checked instead of the error).
func (s *Source) openRefusedLink(path string, err error) bool {
	if err == nil || s.cfg.FollowSymlinks {
		return false
	}
	info, lerr := lstatPath(path)
	return lerr == nil && info.kind == kindLink
}

// baseDirs returns the directories above the first wildcard of each glob.
func baseDirs(globs []string) []string {
	dirs := make([]string, 0, len(globs))
	for _, p := range globs {
		base, _ := doublestar.SplitPattern(filepath.ToSlash(p))
		dirs = append(dirs, filepath.Clean(filepath.FromSlash(base)))
	}
	return dirs
}

// watched reports whether path lies under the base directory of a glob. Without follow_symlinks every file the
// source finds does, so a registry state whose path does not is the target of a symlink followed by an earlier
// run (with follow_symlinks, or by a version that always followed them): it is not looked for.
func (s *Source) watched(path string) bool {
	for _, dir := range s.baseDirs {
		if path == dir || strings.HasPrefix(path, dir) && (strings.HasSuffix(dir, string(filepath.Separator)) ||
			strings.HasPrefix(path[len(dir):], string(filepath.Separator))) {
			return true
		}
	}
	return false
}

// skipLog remembers the paths the globs match that are not read, and how each was logged, so that each is logged
// once per run, and again only after the globs stopped matching it (or it changed kind). Every glob pass stamps
// the paths it matches and forgets the others: it holds at most the current matches.
type skipLog struct {
	pass  uint64
	paths map[string]skipped
}

type skipped struct {
	kind pathKind
	pass uint64
}

// beginPass starts a glob pass.
func (l *skipLog) beginPass() { l.pass++ }

// endPass forgets the paths that the pass did not match.
func (l *skipLog) endPass() {
	for path, e := range l.paths {
		if e.pass != l.pass {
			delete(l.paths, path)
		}
	}
}

// skip records that path, matched by the globs, is of kind and not read, and logs it unless it was logged
// already as that kind: directories at debug level (globs like /var/log/* match them all the time), symlinks not
// followed at info level, the rest at warn level.
func (s *Source) skip(path string, kind pathKind) {
	if kind == kindGone || kind == kindRegular {
		return
	}
	l := &s.skips
	if l.paths == nil {
		l.paths = make(map[string]skipped)
	}
	e, known := l.paths[path]
	l.paths[path] = skipped{kind: kind, pass: l.pass}
	if known && e.kind == kind {
		return
	}
	switch kind {
	case kindDir:
		s.log.Debug().Str("path", path).Msg("the glob matches a directory: skipped")
	case kindLink:
		target, _ := os.Readlink(path)
		s.log.Info().Str("path", path).Str("target", target).
			Msg("symlink not followed: to read its target, set follow_symlinks: true on this input")
	default:
		ev := s.log.Warn().Str("path", path).Str("type", kind.String())
		if target, err := os.Readlink(path); err == nil {
			ev = ev.Str("target", target)
		}
		ev.Msg("the glob matches something that is not a regular file: skipped (exclude it to silence this)")
	}
}

// expandGlob returns the paths pattern matches. A pattern with ** is walked here, each directory once by its
// identity (device and inode), and matched with doublestar: doublestar's own walk follows symlinked directories
// without looking for loops, so two links pointing back up the tree (current -> ..) multiply the paths
// without bound and the scan never ends. Other patterns cannot loop: doublestar expands them.
func expandGlob(pattern string) ([]string, error) {
	if !strings.Contains(pattern, "**") {
		return doublestar.FilepathGlob(pattern)
	}
	if !doublestar.ValidatePathPattern(pattern) {
		return nil, doublestar.ErrBadPattern
	}
	base, _ := doublestar.SplitPattern(pattern)
	var out []string
	walked := make(map[fileID]bool)
	var walk func(dir string)
	walk = func(dir string) {
		fi, err := os.Stat(dir) // a symlinked directory is followed, as doublestar does
		if err != nil || !fi.IsDir() || walked[infoOf(fi).id()] {
			return
		}
		walked[infoOf(fi).id()] = true
		entries, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			if ok, _ := doublestar.PathMatch(pattern, p); ok {
				out = append(out, p)
			}
			if e.IsDir() || e.Type()&fs.ModeSymlink != 0 {
				walk(p)
			}
		}
	}
	walk(base)
	return out, nil
}
