package file

import (
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/bmatcuk/doublestar/v4"
)

// candidate is a file matched by the globs.
type candidate struct {
	path string
	info fileInfo
}

// scan evaluates the globs, matches what it finds with the known files, checks open files for truncation,
// deletion and rotation, looks for lost files by identity, forgets long-gone files and opens files with data.
func (s *Source) scan(first bool) {
	now := s.now()
	for _, t := range s.files {
		// A closed file seen last scan is looked for again if the globs do not match it now: renamed away, it
		// may still be written to by a writer that has not reopened its path yet.
		t.search = t.search || (t.seen && t.f == nil)
		t.seen, t.present = false, false
	}
	for _, c := range s.glob() {
		s.match(c, first, now)
	}
	s.checkOpen(now)
	s.searchLost(now)
	s.releaseHeld(now)
	s.clean(now)
	s.schedule(now)
	s.mu.Lock()
	s.stats.filesTracked.Store(int64(len(s.files)))
	s.mu.Unlock()
}

func (s *Source) excluded(path string) bool {
	base := filepath.Base(path)
	for _, ex := range s.cfg.Exclude {
		if ok, _ := doublestar.PathMatch(ex, path); ok {
			return true
		}
		if ok, _ := doublestar.PathMatch(ex, base); ok {
			return true
		}
	}
	return false
}

// glob returns the regular files the globs match, symlinks resolved, one per inode.
func (s *Source) glob() []candidate {
	var out []candidate
	byInode := make(map[uint64]bool)
	for _, pattern := range s.cfg.Paths {
		matches, err := doublestar.FilepathGlob(pattern)
		if err != nil {
			s.log.Warn().Err(err).Str("glob", pattern).Msg("glob")
			continue
		}
		sort.Strings(matches)
		for _, path := range matches {
			if s.excluded(path) {
				continue
			}
			fi, err := os.Stat(path) // follows symlinks: identity is the target's
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			info := infoOf(fi)
			if byInode[info.inode] {
				continue
			}
			byInode[info.inode] = true
			out = append(out, candidate{path: path, info: info})
		}
	}
	return out
}

// match connects a globbed file with what is known about its inode.
func (s *Source) match(c candidate, first bool, now time.Time) {
	t := s.files[c.info.inode]
	switch {
	case t == nil:
		s.discover(c, first, 0, now)
	case t.f != nil:
		// While the handle is open the inode cannot be reused, so the same inode on the same device is this file.
		if t.dev == c.info.dev {
			s.sighted(t, c.path, true, now)
		}
	default:
		s.matchClosed(t, c, first, now)
	}
}

// matchClosed checks a file without an open handle against the candidate with its inode.
func (s *Source) matchClosed(t *tracked, c candidate, first bool, now time.Time) {
	if t.verified && t.dev == c.info.dev && t.size == c.info.size && t.mtime.Equal(c.info.mtime) {
		s.sighted(t, c.path, true, now)
		return
	}
	f, err := os.Open(c.path)
	if err != nil {
		return // gone again; the next scan decides
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil || infoOf(fi).inode != t.inode {
		return
	}
	info := infoOf(fi)
	same, err := hasPrefix(f, t.fp, t.fpLen, s.scratch)
	if err != nil {
		return
	}
	if !same {
		// Another file on this inode: the old one was deleted and its inode reused, or the file was truncated and
		// rewritten while closed (copytruncate while flicker was stopped: its copy is read on, the file from 0).
		// The newcomer gets the next generation so that event ids never repeat.
		copied := s.followCopy(t, info)
		if !copied {
			s.replacedWithoutCopy(t, c.path)
		}
		gen := t.gen + 1
		s.forget(t)
		s.discover(c, first && !copied, gen, now)
		return
	}
	if info.size < t.offset {
		s.truncated(t, f, info)
	}
	t.verified, t.mtime = true, info.mtime
	s.mu.Lock()
	t.dev, t.size = info.dev, info.size
	s.mu.Unlock()
	s.growFingerprint(t, f, info.size)
	s.sighted(t, c.path, true, now)
}

// sighted records that t was found at path.
func (s *Source) sighted(t *tracked, path string, byGlob bool, now time.Time) {
	t.seen, t.search = true, false
	if byGlob {
		t.present = true
	}
	s.mu.Lock()
	t.lastSeen = now
	changed := t.path != path || t.fromRegistry
	t.path, t.fromRegistry = path, false
	if changed && !t.gone {
		s.reg.Save(s.cfg.Name, t.stateLocked())
	}
	s.mu.Unlock()
}

// discover starts tracking a file never seen before. Files found by the first scan start at start_position;
// later ones (new files, rotation) at the beginning.
func (s *Source) discover(c candidate, first bool, gen uint32, now time.Time) {
	f, err := os.Open(c.path)
	if err != nil {
		s.log.Warn().Err(err).Str("path", c.path).Msg("open")
		return
	}
	fi, err := f.Stat()
	if err != nil || infoOf(fi).inode != c.info.inode {
		_ = f.Close()
		return
	}
	info := infoOf(fi)
	fp, fpLen, err := fingerprintOf(f, s.scratch)
	if err != nil {
		s.log.Warn().Err(err).Str("path", c.path).Msg("read")
		_ = f.Close()
		return
	}
	if gen == 0 && s.holdCopy(candidate{path: c.path, info: info}, f, fp, fpLen, first, now) {
		_ = f.Close()
		return
	}
	var start int64
	if first && s.cfg.StartPosition == "end" {
		start = info.size / int64(s.enc.unit()) * int64(s.enc.unit())
	}
	t := &tracked{inode: info.inode, dev: info.dev, path: c.path, fp: fp, fpLen: fpLen, gen: gen, acked: start,
		size: info.size, lastSeen: now, mtime: info.mtime, offset: start, seen: true, present: true,
		verified: true, limit: -1}
	s.mu.Lock()
	s.files[t.inode] = t
	s.reg.Save(s.cfg.Name, t.stateLocked())
	s.mu.Unlock()
	s.log.Debug().Str("path", c.path).Int64("offset", start).Msg("new file")
	if s.openCount < s.cfg.MaxOpenFiles {
		s.opened(t, f, now)
	} else {
		_ = f.Close()
	}
}

// growFingerprint extends a short fingerprint once the file is longer.
func (s *Source) growFingerprint(t *tracked, f *os.File, size int64) {
	if t.fpLen >= FingerprintSize || size <= int64(t.fpLen) {
		return
	}
	fp, n, err := fingerprintOf(f, s.scratch)
	if err != nil || n <= t.fpLen {
		return
	}
	s.mu.Lock()
	t.fp, t.fpLen = fp, n
	if !t.gone {
		s.reg.Save(s.cfg.Name, t.stateLocked())
	}
	s.mu.Unlock()
}

// truncated restarts t at offset 0 in a new generation. When a copy of the file is found (copytruncate), the old
// content is read on in the copy (see followCopy). Otherwise events of the old generation still pending are
// shipped first, and bytes known to exist but not yet read are counted as lost.
func (s *Source) truncated(t *tracked, f *os.File, info fileInfo) {
	s.stats.truncations.Add(1)
	if !s.followCopy(t, info) {
		if t.ml != nil {
			s.cur = t
			t.ml.flush(s.emitFn, false)
		}
		lost := max(0, t.size-t.readPos())
		if len(t.partial) > 0 && s.cfg.FlushPartialOnClose && t.f != nil {
			s.flushPartial(t)
		} else {
			lost += int64(len(t.partial))
		}
		s.stats.truncLost.Add(uint64(lost))
		s.log.Warn().Str("path", t.path).Int64("offset", t.readPos()).Int64("size", info.size).
			Int64("lost_bytes", lost).Msg("file truncated and no copy of it found: reading it from the beginning")
	}
	t.offset, t.atEOF, t.stream, t.chunks, t.readTo = 0, false, nil, nil, 0
	s.setPartial(t, nil, nil)
	fp, fpLen, _ := fingerprintOf(f, s.scratch)
	s.mu.Lock()
	t.gen++
	t.acked, t.size, t.fp, t.fpLen = 0, info.size, fp, fpLen
	if !t.gone {
		s.reg.Save(s.cfg.Name, t.stateLocked())
	}
	s.mu.Unlock()
}

// checkOpen stats every open file: truncation, content replacement, fingerprint growth, deletion, rotation out
// of the watched set and inactivity.
func (s *Source) checkOpen(now time.Time) {
	for _, t := range append([]*tracked(nil), s.open...) {
		fi, err := t.f.Stat()
		if err != nil {
			continue
		}
		info := infoOf(fi)
		t.seen = true
		if info.nlink == 0 {
			t.deleted = true
		}
		if t.present {
			t.outOfSet = 0
		} else {
			t.outOfSet++
		}
		changed := info.size != t.size || !info.mtime.Equal(t.mtime)
		switch {
		case info.size < t.readPos():
			s.truncated(t, t.f, info)
		case changed && t.fpLen > 0:
			if same, err := hasPrefix(t.f, t.fp, t.fpLen, s.scratch); err == nil && !same {
				s.truncated(t, t.f, info)
			}
		}
		t.mtime = info.mtime
		s.mu.Lock()
		t.size, t.lastSeen = info.size, now
		s.mu.Unlock()
		s.growFingerprint(t, t.f, info.size)
		readAll := info.size <= t.readPos()
		switch {
		case t.deleted && readAll:
			s.log.Debug().Str("path", t.path).Msg("release deleted file read to its end")
			s.release(t, true)
		case readAll && now.Sub(t.lastActive) >= s.cfg.CloseInactive:
			// A file renamed out of the watched set is kept until it is inactive too: after rename+create
			// rotation the writer often appends to the old file for a while before it reopens the path.
			s.release(t, t.outOfSet >= 2)
		}
	}
}

// release closes t's handle. gone: the file was deleted or renamed away, so an unterminated last line can
// never complete; it is shipped with flush_partial_on_close and counted as dropped otherwise. A file closed for
// inactivity keeps its partial line on disk and reads it again when it grows, unless flush_partial_on_close.
func (s *Source) release(t *tracked, gone bool) {
	if len(t.partial) > 0 {
		switch {
		case s.cfg.FlushPartialOnClose:
			s.flushPartial(t)
		case gone:
			s.stats.partialDropped.Add(uint64(len(t.partial)))
		}
	}
	if gone && t.ml != nil {
		s.cur = t
		t.ml.flush(s.emitFn, false)
	}
	s.closeFile(t)
}

// searchLost looks, in the directories of the watched globs and of known files, for files that are not where
// they were and may hold unread data (renamed before being read to the end, possibly while flicker was down).
func (s *Source) searchLost(now time.Time) {
	lost := make(map[uint64]*tracked)
	for _, t := range s.files {
		if t.seen || t.f != nil || !(t.search || max(t.offset, t.readTo) < t.size) {
			continue
		}
		if !s.foundWhereItWas(t, now) {
			lost[t.inode] = t
		}
	}
	if len(lost) == 0 {
		return
	}
	dirs := make(map[string]bool)
	for _, p := range s.cfg.Paths {
		base, _ := doublestar.SplitPattern(filepath.ToSlash(p))
		dirs[filepath.FromSlash(base)] = true
	}
	for _, t := range s.files {
		dirs[filepath.Dir(t.path)] = true
	}
	for dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			path := filepath.Join(dir, e.Name())
			if e.IsDir() || s.excluded(path) {
				continue
			}
			fi, err := os.Stat(path)
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			info := infoOf(fi)
			t := lost[info.inode]
			if t == nil {
				continue
			}
			s.matchFound(t, candidate{path: path, info: info}, now)
			if t.seen {
				delete(lost, info.inode)
			}
		}
	}
	for _, t := range lost {
		// Searched once; keep searching only while it is known to hold unread data.
		t.search = false
	}
}

// foundWhereItWas checks the path where t was last found, so that a rotated file followed outside the globs
// costs one stat per scan rather than a directory search.
func (s *Source) foundWhereItWas(t *tracked, now time.Time) bool {
	if s.excluded(t.path) {
		return false
	}
	fi, err := os.Stat(t.path)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	info := infoOf(fi)
	if info.inode != t.inode || info.dev != t.dev {
		return false
	}
	if t.verified && info.size == t.size && info.mtime.Equal(t.mtime) {
		s.sighted(t, t.path, false, now)
		return true
	}
	s.matchFound(t, candidate{path: t.path, info: info}, now)
	return t.seen
}

// matchFound checks a file found by inode outside the globs; a fingerprint mismatch means it is another file.
func (s *Source) matchFound(t *tracked, c candidate, now time.Time) {
	f, err := os.Open(c.path)
	if err != nil {
		return
	}
	defer func() { _ = f.Close() }()
	if same, err := hasPrefix(f, t.fp, t.fpLen, s.scratch); err != nil || !same {
		return
	}
	s.log.Info().Str("path", c.path).Str("was", t.path).Int64("offset", t.offset).
		Msg("found a known file by identity")
	if c.info.size < t.offset {
		s.truncated(t, f, c.info)
	}
	t.verified, t.mtime = true, c.info.mtime
	s.mu.Lock()
	t.dev, t.size = c.info.dev, c.info.size
	s.mu.Unlock()
	s.sighted(t, c.path, false, now)
}

// clean forgets files not seen for clean_removed_after.
func (s *Source) clean(now time.Time) {
	for _, t := range s.files {
		s.mu.Lock()
		old := now.Sub(t.lastSeen) > s.cfg.CleanRemovedAfter
		s.mu.Unlock()
		if t.seen || t.f != nil || !old {
			continue
		}
		s.log.Debug().Str("path", t.path).Uint64("inode", t.inode).Msg("forget removed file")
		s.forget(t)
		s.reg.Remove(s.cfg.Name, t.inode)
	}
}
