package file

import (
	"bytes"
	"os"
	"path/filepath"
	"time"
)

// Copytruncate rotation (logrotate's copytruncate, also what many container runtimes do) copies the file to a
// new name, then truncates it in place; the writer keeps writing at offset 0. The content read so far goes on in
// the copy, so when a tracked file is found truncated (or its content replaced while flicker was stopped),
// followCopy looks for that copy: a file in the same directory or matched by the globs, not read yet, whose first
// bytes equal the tracked fingerprint and whose size is at least the tracked offset. The tracked state moves to
// the copy, which is read on from that offset (the lines written after the last read, before the copy, are
// there), and the truncated file starts a new generation at 0. The copy's beginning is never shipped again.
//
// The copy appears before the truncation, and one scan may see the copy first (its name sorts first, or the
// tracked file is open and checked for truncation only after the globs were matched). So a new file whose
// fingerprint is that of a tracked file, and whose last bytes are that file's bytes at the same offset (a copy,
// complete or being written, not a new file that starts with the same banner), is held (not tracked, not read)
// until the tracked file's truncation is seen, which claims it, or until it has not changed for copyHoldScans
// scans: then it was a plain copy (logrotate's copy without truncate, a cp by hand) and is read from its
// beginning like any new file. A file that keeps changing like the tracked one (a second file written with the
// same lines) is read after copyMaxHoldScans scans, so nothing waits for ever.

// copyHoldScans is how many scan intervals a copy of a tracked file waits, unchanged, for that file's truncation.
// logrotate truncates right after the copy is written.
const copyHoldScans = 2

// copyMaxHoldScans bounds the wait of a copy that is still being written.
const copyMaxHoldScans = 10

// heldCopy is a new file that looks like a copy of a tracked file, waiting for that file's truncation.
type heldCopy struct {
	path     string
	info     fileInfo
	first    bool      // found by the first scan: start_position applies when it is released
	found    time.Time // when it was first found
	changed  time.Time // when it was first found or its size or modification time last changed
	seen     bool      // found by the current scan
	released bool      // read as a new file now
}

// fingerprintKey is a fingerprint with its length.
type fingerprintKey struct {
	fp  [32]byte
	len int
}

// holdCopy reports whether the new file c, open as f, whose first fpLen bytes hash to fp, is to be held as a
// possible copy of a tracked file. Called by discover for every file it has never seen.
func (s *Source) holdCopy(c candidate, f *os.File, fp [32]byte, fpLen int, first bool, now time.Time) bool {
	key := c.info.id()
	h := s.held[key]
	if h != nil && h.released {
		delete(s.held, key)
		return false
	}
	if o := s.copiedFrom(c.info, fp, fpLen); o == nil || !s.sameTail(f, c.info.size, o) {
		delete(s.held, key)
		return false
	}
	switch {
	case h == nil:
		if s.held == nil {
			s.held = make(map[fileID]*heldCopy)
		}
		h = &heldCopy{first: first, found: now, changed: now}
		s.held[key] = h
		s.log.Debug().Str("path", c.path).Msg("new file looks like a copy of a tracked file: waiting for its truncation")
	case h.info.size != c.info.size || !h.info.mtime.Equal(c.info.mtime):
		h.changed = now
	}
	h.path, h.info, h.seen = c.path, c.info, true
	return true
}

// copiedFrom returns a tracked file other than info with the fingerprint fp of length fpLen, or nil. The index
// is built at most once per scan, when a new file is found; it may miss files tracked since, which then are not
// held (the truncation still claims such a copy if nothing of it was read yet).
func (s *Source) copiedFrom(info fileInfo, fp [32]byte, fpLen int) *tracked {
	if fpLen == 0 {
		return nil
	}
	if s.fingerprints == nil {
		s.fingerprints = make(map[fingerprintKey]*tracked, len(s.files))
		for _, t := range s.files {
			if t.fpLen > 0 && !t.gone {
				s.fingerprints[fingerprintKey{t.fp, t.fpLen}] = t
			}
		}
	}
	t := s.fingerprints[fingerprintKey{fp, fpLen}]
	if t == nil || t.gone || t.fp != fp || t.fpLen != fpLen || (t.inode == info.inode && t.dev == info.dev) {
		return nil
	}
	return t
}

// sameTail reports whether the last (up to FingerprintSize) bytes of f, size bytes long, are o's bytes at the
// same offset: f is a copy of o, or the beginning of one.
func (s *Source) sameTail(f *os.File, size int64, o *tracked) bool {
	if size <= int64(o.fpLen) {
		return true // the fingerprint covered it
	}
	n := min(size, FingerprintSize)
	src := o.f
	if src == nil {
		var err error
		if src, err = s.openFile(o.path); err != nil {
			return false
		}
		defer func() { _ = src.Close() }()
		// o's path may hold another file now (a registry state's path after a rename while stopped).
		if info, err := statFile(src); err != nil || info.id() != o.id() {
			return false
		}
	}
	a, b := make([]byte, n), make([]byte, n)
	if _, err := f.ReadAt(a, size-n); err != nil {
		return false
	}
	if _, err := src.ReadAt(b, size-n); err != nil {
		return false
	}
	return bytes.Equal(a, b)
}

// releaseHeld ends the holds of the scan that ends: a held file not found again is dropped, one that waited long
// enough (in once mode, at once: there is no next scan) is read as a new file.
func (s *Source) releaseHeld(now time.Time) {
	s.fingerprints = nil
	for key, h := range s.held {
		switch {
		case !h.seen:
			delete(s.held, key)
			continue
		case s.opts.Once || now.Sub(h.changed) >= copyHoldScans*s.cfg.ScanInterval ||
			now.Sub(h.found) >= copyMaxHoldScans*s.cfg.ScanInterval:
			s.log.Info().Str("path", h.path).Msg("a copy of a tracked file was not followed by its truncation: reading it as a new file")
			h.released = true
			s.discover(candidate{path: h.path, info: h.info}, h.first, 0, now)
			delete(s.held, key)
			continue
		}
		h.seen = false
	}
}

// followCopy looks for the copy of t, which was just found truncated or replaced (the file is now truncated),
// and moves t's content, position and pending events to it. It reports whether a copy was found; t itself is
// then left for the caller to restart at 0 in a new generation, without its multi-line state.
func (s *Source) followCopy(t *tracked, truncated fileInfo) bool {
	if t.fpLen == 0 {
		return false
	}
	path, f, info := s.findCopy(t, truncated)
	if f == nil {
		return false
	}
	now := s.now()
	fp, fpLen, err := fingerprintOf(f, s.scratch)
	if err != nil {
		_ = f.Close()
		return false
	}
	s.mu.Lock()
	acked := t.acked
	s.mu.Unlock()
	c := &tracked{inode: info.inode, dev: info.dev, birth: info.birth, path: path, fp: fp, fpLen: fpLen, gen: t.gen, acked: acked,
		size: info.size, lastSeen: now, mtime: info.mtime, offset: t.offset, readTo: t.offset, seen: true,
		verified: true, limit: -1, ml: t.ml, format: t.format}
	if t.stream != nil && t.streamGen == t.gen {
		// The copy continues t's stream: the events already published and the ones read from the copy are
		// acknowledged in one order, and their ids do not change.
		c.stream, c.streamGen, c.chunks = t.stream, t.streamGen, t.chunks
		if c.stream.Key != "" {
			// After a restart the copy is read under its own key: the outputs' positions must be found there.
			if seed, err := streamSeed(s.cfg.Name, c.id(), c.birth, c.gen, f, s.split, s.scratch); err == nil {
				c.stream.Rekey(streamKey(c.id(), seed))
			}
		}
	}
	if old := s.files[info.id()]; old != nil {
		if c.stream == nil && old.gen >= c.gen {
			c.gen = old.gen + 1 // event ids never repeat those of the stale state on this inode
		}
		s.forget(old)
	}
	if c.stream == nil {
		s.movePositionsToCopy(t, c, f)
	}
	if t.limit >= 0 { // once mode, after the start: read the copy to its end as well
		c.limit = info.size
		s.onceSet = append(s.onceSet, c)
	}
	t.ml, t.format = nil, nil
	delete(s.held, info.id())
	s.mu.Lock()
	t.addCopy(t.gen, c)
	s.files[c.id()] = c
	s.reg.Save(s.cfg.Name, c.stateLocked())
	s.mu.Unlock()
	s.stats.filesTracked.Store(int64(len(s.files)))
	s.log.Info().Str("path", t.path).Str("copy", path).Int64("offset", t.offset).Int64("copy_size", info.size).
		Msg("file truncated after it was copied: reading the copy on from the offset, the file from the beginning")
	if s.openCount < s.cfg.MaxOpenFiles {
		s.opened(c, f, now)
	} else {
		_ = f.Close() // schedule opens it when a slot is free
	}
	return true
}

// replacedWithoutCopy reports a closed file found with other content on its inode and no copy of its old content:
// deleted and its inode reused, or truncated and rewritten (at the same path, the likely case: logrotate's
// copytruncate with compress, whose copy is gone by now). Bytes known to exist but not read are lost, and so is
// whatever was written after the file was last seen.
func (s *Source) replacedWithoutCopy(t *tracked, path string) {
	s.mu.Lock()
	lost := max(0, t.size-max(t.offset, t.readTo))
	s.mu.Unlock()
	if lost == 0 && path != t.path {
		s.log.Info().Str("path", path).Uint64("inode", t.inode).Msg("inode reused by a new file")
		return
	}
	s.stats.truncations.Add(1)
	s.stats.truncLost.Add(uint64(lost))
	s.log.Warn().Str("path", path).Uint64("inode", t.inode).Int64("offset", t.offset).Int64("lost_bytes", lost).
		Msg("file truncated or replaced and no copy of its old content found: what it held beyond the offset is lost")
}

// findCopy returns the best copy of t (the most recently modified) with an open handle, or a nil handle.
// Candidates are the files in t's directory and those the globs match; exclude applies. A copy is modified no
// earlier than t was last seen modified, which rules out the older rotations of a file whose first KiB is
// always the same (a banner).
func (s *Source) findCopy(t *tracked, truncated fileInfo) (string, *os.File, fileInfo) {
	var (
		bestPath string
		bestFile *os.File
		best     fileInfo
	)
	try := func(path string, info fileInfo) {
		switch {
		case info.inode == truncated.inode && info.dev == truncated.dev, info.inode == t.inode && info.dev == t.dev:
			return
		case info.size < t.offset, info.mtime.Before(t.mtime): // older than what was read: an earlier rotation
			return
		case bestFile != nil && !info.mtime.After(best.mtime):
			return
		}
		o := s.files[info.id()]
		if o != nil && !o.fromRegistry && !unread(o) && !reborn(o, info) {
			return // tracked and read (an earlier rotation), or another file on another device
		}
		f, err := s.openFile(path)
		if err != nil {
			return
		}
		if !s.claimable(o, info, f) {
			_ = f.Close()
			return
		}
		if same, err := hasPrefix(f, t.fp, t.fpLen, s.scratch); err != nil || !same {
			_ = f.Close()
			return
		}
		if bestFile != nil {
			_ = bestFile.Close()
		}
		bestPath, bestFile, best = path, f, info
	}
	seen := make(map[string]bool)
	// Without follow_symlinks, a state outside the globs' directories is a followed link's target: not searched.
	if entries, err := os.ReadDir(filepath.Dir(t.path)); err == nil && (s.cfg.FollowSymlinks || s.watched(t.path)) {
		for _, e := range entries {
			path := filepath.Join(filepath.Dir(t.path), e.Name())
			seen[path] = true
			if e.IsDir() || s.excluded(path) {
				continue
			}
			if info, err := s.stat(path); err == nil && info.kind == kindRegular {
				try(path, info)
			}
		}
	}
	for _, c := range s.glob() {
		if !seen[c.path] {
			try(c.path, c.info)
		}
	}
	return bestPath, bestFile, best
}

// claimable reports whether the file info, open as f, may become a copy given what is tracked on its inode:
// nothing, a file found but not read yet, or a registry state of another file (the inode was reused).
func (s *Source) claimable(o *tracked, info fileInfo, f *os.File) bool {
	switch {
	case o == nil, reborn(o, info):
		return true
	case o.fromRegistry:
		same, err := hasPrefix(f, o.fp, o.fpLen, s.scratch)
		return err == nil && !same
	}
	return o.dev == info.dev && unread(o) // the map holds one file per inode: not one on another device
}

// reborn reports whether info is another file than t on t's inode: t's file was deleted (read, released, its
// record kept) and the inode handed out again, as a busy log folder does, to a copy among others. Only birth
// times tell (where the filesystem reports them): a record of a read file is otherwise taken to be that file.
func reborn(t *tracked, info fileInfo) bool {
	return t.birth != 0 && info.birth != 0 && t.birth != info.birth
}

// unread reports whether nothing of t was turned into events: found by this run, not read yet.
func unread(t *tracked) bool {
	return t.stream == nil && t.offset == 0 && t.readTo == 0 && len(t.partial) == 0 && !t.fromRegistry
}

// movePositionsToCopy moves the per-output positions of t's stream, as a stream of t's generation was keyed, to
// the key c's stream will have: t is known from the registry (a restart) or was closed, and its copy is read on
// from t's committed offset; without the move a healthy output would receive again everything it accepted beyond
// that offset (while another output was down). t's head is gone from t, truncated: the copy's is the same.
func (s *Source) movePositionsToCopy(t, c *tracked, copyFile *os.File) {
	mover, ok := s.reg.(OutputPositionsMover)
	if !ok || s.cfg.Format != FormatPlain {
		return // container streams keep no per-output positions (see streamFor)
	}
	from, err := streamSeed(s.cfg.Name, t.id(), t.birth, t.gen, copyFile, s.split, s.scratch)
	if err != nil {
		return
	}
	to, err := streamSeed(s.cfg.Name, c.id(), c.birth, c.gen, copyFile, s.split, s.scratch)
	if err != nil {
		return
	}
	if err := mover.MoveOutputPositions(s.cfg.Name, streamKey(t.id(), from), streamKey(c.id(), to)); err != nil {
		s.log.Warn().Err(err).Str("path", c.path).
			Msg("per-output positions not moved to the copy: every output receives its uncommitted lines again")
	}
}

// maxCopies bounds the copies a tracked file keeps for the late acknowledgements of its earlier generations:
// one per copytruncate not acknowledged yet, which outputs that are down for several rotations can make more
// than one.
const maxCopies = 8

// addCopy records that generation gen of t goes on in copy c. The caller holds s.mu.
func (t *tracked) addCopy(gen uint32, c *tracked) {
	if t.copies == nil {
		t.copies = make(map[uint32]*tracked)
	}
	t.copies[gen] = c
	for g, old := range t.copies {
		if old.gone || (len(t.copies) > maxCopies && g < gen-maxCopies) {
			delete(t.copies, g) // forgotten, or acknowledged long ago in all likelihood
		}
	}
}
