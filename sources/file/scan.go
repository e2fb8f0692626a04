package file

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// candidate is a file matched by the globs.
type candidate struct {
	path string // where the file lives: a symlink's target when matched through one
	link string // the symlink the globs matched, if any
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
	if first {
		s.loaded = nil // a renumbered mount is recognised at startup only
	}
}

func (s *Source) excluded(path string) bool {
	return s.cfg.Excluded(path) || s.opts.Admit != nil && !s.opts.Admit(path)
}

// glob returns the regular files the globs match, one per identity, with symlinks resolved (follow_symlinks) or
// skipped. What else they match is logged once (see skip).
func (s *Source) glob() []candidate {
	var out []candidate
	found := make(map[fileID]bool)
	s.skips.beginPass()
	defer s.skips.endPass()
	for _, pattern := range s.cfg.Paths {
		matches, err := expandGlob(pattern)
		if err != nil {
			s.log.Warn().Err(err).Str("glob", pattern).Msg("glob")
			continue
		}
		sort.Strings(matches)
		for _, path := range matches {
			if s.excluded(path) {
				continue
			}
			c, kind := s.resolve(path)
			if kind != kindRegular {
				s.skip(path, kind)
				continue
			}
			if found[c.info.id()] {
				continue
			}
			found[c.info.id()] = true
			out = append(out, c)
		}
	}
	return out
}

// match connects a globbed file with what is known about its identity.
func (s *Source) match(c candidate, first bool, now time.Time) {
	t := s.files[c.info.id()]
	if t == nil {
		t = s.loadedAt(c)
	}
	switch {
	case t == nil:
		s.discover(c, first, 0, now)
	case t.f != nil:
		// While the handle is open the inode cannot be reused, so the same inode on the same device is this file.
		s.sighted(t, c, true, now)
	default:
		s.matchClosed(t, c, first, now)
	}
}

// loadedAt returns a state loaded from the registry, with c's inode but another device, that c's file may be:
// one last seen at c's path (a mount renumbered across the restart, or the device unknown), which matchClosed
// then takes or replaces as it does with a reused inode; or one whose device is unknown (older registry
// formats) if c's file has its birth time and content (renamed while flicker was stopped). The state moves to
// c's device.
func (s *Source) loadedAt(c candidate) *tracked {
	for _, t := range s.loaded[c.info.inode] {
		if !t.fromRegistry || t.gone || t.dev == c.info.dev {
			continue
		}
		atPath := t.path == c.path
		if (atPath || (t.dev == 0 && s.isAt(t, c.path))) && s.rekey(t, c.info.dev) {
			return t
		}
	}
	return nil
}

// isAt reports whether the file at path is t's file.
func (s *Source) isAt(t *tracked, path string) bool {
	f, err := s.openFile(path)
	if err != nil {
		return false
	}
	defer func() { _ = f.Close() }()
	info, err := statFile(f)
	if err != nil {
		return false
	}
	same, err := s.sameFile(t, f, info)
	return err == nil && same
}

// sameFile reports whether the open file f, of which info is a stat, is t's file: the same inode, the same birth
// time where both are known, and t's content (see sameContent). The device is the caller's business.
func (s *Source) sameFile(t *tracked, f *os.File, info fileInfo) (bool, error) {
	if info.inode != t.inode || (t.birth != 0 && info.birth != 0 && t.birth != info.birth) {
		return false, nil
	}
	return s.sameContent(t, f, info.size)
}

// sameContent reports whether r, size bytes long, starts with t's fingerprinted bytes. A state whose fingerprint
// is unknown (FingerprintLen 0: migrated from format 1 or imported without one) matches when the file is at least
// as long as its offset; the fingerprint is filled in once the file is taken (growFingerprint).
func (s *Source) sameContent(t *tracked, r io.ReaderAt, size int64) (bool, error) {
	if t.fpLen == 0 {
		return size >= t.offset, nil
	}
	return hasPrefix(r, t.fp, t.fpLen, s.scratch)
}

// rekey moves t to device dev: its device was unknown or renumbered. It reports false when another file is
// tracked under the new identity.
func (s *Source) rekey(t *tracked, dev uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	to := fileID{dev, t.inode}
	if o := s.files[to]; o != nil && o != t {
		return false
	}
	if s.files[t.id()] == t {
		delete(s.files, t.id())
	}
	s.reg.Remove(s.cfg.Name, t.dev, t.inode)
	s.log.Info().Str("path", t.path).Uint64("inode", t.inode).Uint64("device", dev).Uint64("was_device", t.dev).
		Msg("known file on another device number")
	t.dev = dev
	s.files[to] = t
	s.reg.Save(s.cfg.Name, t.stateLocked())
	return true
}

// matchClosed checks a file without an open handle against the candidate with its inode.
func (s *Source) matchClosed(t *tracked, c candidate, first bool, now time.Time) {
	if t.verified && t.id() == c.info.id() && t.size == c.info.size && t.mtime.Equal(c.info.mtime) {
		s.sighted(t, c, true, now)
		return
	}
	f, err := s.openFile(c.path)
	if err != nil {
		return // gone again (or a symlink now); the next scan decides
	}
	defer func() { _ = f.Close() }()
	info, err := statFile(f)
	if err != nil || info.id() != t.id() {
		return
	}
	same, err := s.sameFile(t, f, info)
	if err != nil {
		return
	}
	if !same {
		// Another file on this inode: the old one was deleted and its inode reused, or the file was truncated and
		// rewritten while closed (copytruncate while flicker was stopped: its copy is read on, the file from 0).
		// The newcomer gets the next generation so that event ids never repeat.
		s.log.Info().Str("path", c.path).Uint64("inode", t.inode).Bool("birth_differs", t.birth != info.birth).
			Msg("inode reused by a new file")
		copied := s.followCopy(t, info)
		if !copied {
			s.replacedWithoutCopy(t, c.path)
		}
		gen := t.gen + 1
		s.forget(t)
		s.discover(c, first && !copied, gen, now)
		return
	}
	s.adopt(t, f, c, info, true, now)
}

// adopt takes f, just verified to be t's file, as t found at c.
func (s *Source) adopt(t *tracked, f *os.File, c candidate, info fileInfo, byGlob bool, now time.Time) {
	if info.size < t.offset {
		s.truncated(t, f, info)
	}
	t.verified, t.mtime = true, info.mtime
	s.mu.Lock()
	t.size = info.size
	if t.birth == 0 {
		t.birth = info.birth // a state from before birth times were stored: saved by sighted
	}
	s.mu.Unlock()
	s.growFingerprint(t, f, info.size)
	s.sighted(t, c, byGlob, now)
}

// sighted records that t was found as c.
func (s *Source) sighted(t *tracked, c candidate, byGlob bool, now time.Time) {
	t.seen, t.search = true, false
	if byGlob {
		t.present = true
	}
	t.linkPath = c.link
	path := c.path
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
	f, err := s.openFile(c.path)
	if s.openRefusedLink(c.path, err) {
		s.skip(c.path, kindLink) // swapped for a symlink since it was checked
		return
	}
	if err != nil {
		s.log.Warn().Err(err).Str("path", c.path).Msg("open")
		return
	}
	info, err := statFile(f)
	if err != nil || info.id() != c.info.id() {
		_ = f.Close()
		return
	}
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
		start = s.lineStartBefore(f, info.size)
	}
	t := &tracked{inode: info.inode, dev: info.dev, birth: info.birth, path: c.path, linkPath: c.link, fp: fp,
		fpLen: fpLen, gen: gen, acked: start, size: info.size, lastSeen: now, mtime: info.mtime, offset: start,
		seen: true, present: true, verified: true, limit: -1}
	s.mu.Lock()
	s.files[t.id()] = t
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
		s.flushJoined(t, true)
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
	t.offset, t.atEOF, t.stream, t.chunks, t.readTo, t.format = 0, false, nil, nil, 0, nil
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
		s.refreshMeta(t)
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
	if gone {
		s.flushJoined(t, true)
	}
	s.closeFile(t)
}

// searchLost looks, in the directories of the watched globs and of known files, for files that are not where
// they were and may hold unread data (renamed before being read to the end, possibly while flicker was down).
func (s *Source) searchLost(now time.Time) {
	lost := make(map[fileID]*tracked)
	for _, t := range s.files {
		if t.seen || t.f != nil || !(t.search || max(t.offset, t.readTo) < t.size) {
			continue
		}
		if !s.cfg.FollowSymlinks && !s.watched(t.path) {
			if t.search {
				s.log.Info().Str("path", t.path).Msg("a file of the registry lies outside the globs' directories " +
					"(the target of a symlink followed before): not looked for without follow_symlinks: true")
				t.search = false
			}
			continue
		}
		if !s.foundWhereItWas(t, now) {
			lost[t.id()] = t
		}
	}
	if len(lost) == 0 {
		return
	}
	dirs := make(map[string]bool)
	for _, dir := range s.baseDirs {
		dirs[dir] = true
	}
	for _, t := range s.files {
		if s.cfg.FollowSymlinks || s.watched(t.path) {
			dirs[filepath.Dir(t.path)] = true // for a file found through a symlink, where its target lives
		}
	}
	searched := true // every directory was read: what is not found is not there
	for dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			searched = false
			continue
		}
		for _, e := range entries {
			path := filepath.Join(dir, e.Name())
			if e.IsDir() || s.excluded(path) {
				continue
			}
			c, kind := s.resolve(path)
			if kind != kindRegular {
				continue
			}
			key := c.info.id()
			t := lost[key]
			if t == nil {
				key = fileID{0, c.info.inode} // a state whose device is unknown
				if t = lost[key]; t == nil {
					continue
				}
			}
			s.matchFound(t, c, now)
			if t.seen {
				delete(lost, key)
			}
		}
	}
	for _, t := range lost {
		// Searched once; keep searching only while it is known to hold unread data.
		t.search = false
		if searched {
			s.missing(t)
		}
	}
}

// missing counts the bytes a file searched for and not found was known to hold (by the registry or the last stat)
// beyond what was read: a file rotated and deleted, or moved out of the watched directories, while flicker was
// down or before it reached them. What was written after that stat cannot be counted. The size saved from then
// on is what was read, so that the loss is counted once, not again by every later start from this registry, and
// the file is no longer searched for at every scan; found again at a path the globs match, it is read on.
func (s *Source) missing(t *tracked) {
	s.mu.Lock()
	read := max(t.offset, t.readTo)
	lost := max(0, t.size-read)
	if lost > 0 {
		t.size = read
		s.reg.Save(s.cfg.Name, t.stateLocked())
	}
	s.mu.Unlock()
	if lost == 0 {
		return
	}
	s.stats.missingLost.Add(uint64(lost))
	s.log.Warn().Str("path", t.path).Uint64("inode", t.inode).Int64("offset", t.offset).Int64("size", t.size).
		Int64("lost_bytes", lost).Msg("a file with unread data was not found where flicker reads (deleted, moved " +
		"away or excluded): what it held beyond the offset is lost")
}

// foundWhereItWas checks the path where t was last found, so that a rotated file followed outside the globs
// costs one stat per scan rather than a directory search.
func (s *Source) foundWhereItWas(t *tracked, now time.Time) bool {
	if s.excluded(t.path) {
		return false
	}
	c, kind := s.resolve(t.path) // a state of an older build may hold a symlink's path
	info := c.info
	if kind != kindRegular || info.inode != t.inode {
		return false
	}
	if t.verified && c.path == t.path && info.dev == t.dev && info.size == t.size && info.mtime.Equal(t.mtime) {
		s.sighted(t, c, false, now)
		return true
	}
	s.matchFound(t, c, now) // at the same path a renumbered device is accepted
	return t.seen
}

// matchFound checks a file found by inode outside the globs; another birth time or a fingerprint mismatch means
// it is another file. A device other than t's is accepted only for a state loaded from the registry and not yet
// found (a renumbered mount: the callers pass such a file only at t's path) or one whose device is unknown.
func (s *Source) matchFound(t *tracked, c candidate, now time.Time) {
	f, err := s.openFile(c.path)
	if err != nil {
		return
	}
	defer func() { _ = f.Close() }()
	info, err := statFile(f)
	if err != nil || info.inode != t.inode {
		return
	}
	if same, err := s.sameFile(t, f, info); err != nil || !same {
		return
	}
	if info.dev != t.dev && (!(t.fromRegistry || t.dev == 0) || !s.rekey(t, info.dev)) {
		return
	}
	s.log.Info().Str("path", c.path).Str("was", t.path).Int64("offset", t.offset).
		Msg("found a known file by identity")
	s.adopt(t, f, c, info, false, now)
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
		s.reg.Remove(s.cfg.Name, t.dev, t.inode)
	}
}

// lineStartBefore is where start_position: end starts in a file of size bytes: after its last newline, so that a
// line being written when flicker starts is read whole once finished, not from its middle. It looks back at most
// one line (max_line_bytes); a file without a newline there starts at 0 when that is all of it, else at its end.
func (s *Source) lineStartBefore(f *os.File, size int64) int64 {
	u := int64(s.enc.unit())
	end := size / u * u
	n := min(end, int64(s.split.max)+u) // a multiple of the unit, as end is
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, end-n); err != nil && !errors.Is(err, io.EOF) {
		return end
	}
	if s.enc == encUTF8 {
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			return end - n + int64(i) + 1
		}
	} else {
		for i := n - u; i >= 0; i -= u { // newline units at unit boundaries, from the end
			if s.split.index(buf[i:i+u]) == 0 {
				return end - n + i + u
			}
		}
	}
	if n == end {
		return 0
	}
	return end
}
