package file

import (
	"encoding/binary"
	"os"
	"time"

	"github.com/flickerlog/flicker/engine"
)

// tracked is one known file: open or not, found by the globs or only remembered.
type tracked struct {
	// Guarded by Source.mu: acknowledgements read and write them from output goroutines.
	inode, dev uint64
	birth      int64  // creation time in Unix ns (statx btime); 0 when unknown
	path       string // where the file lives: a symlink's target when found through one
	fp         [32]byte
	fpLen      int
	gen        uint32
	acked      int64 // acknowledged position of generation gen
	size       int64 // last observed size
	lastSeen   time.Time
	gone       bool // replaced by another file on the same inode, or forgotten: acknowledgements are ignored

	// Also guarded by Source.mu: the copies (copytruncate) that generations of the file go on in, by generation,
	// which their acknowledgements advance. More than one when the file is copied and truncated again before the
	// outputs acknowledged an earlier generation; the oldest are let go beyond maxCopies.
	copies map[uint32]*tracked

	// Owned by the reader goroutine.
	linkPath     string // the symlink the globs matched the file through, if any: log.file.path
	f            *os.File
	mtime        time.Time // last observed modification time
	offset       int64     // raw offset of the next line: everything before it has been turned into events
	partial      []byte    // bytes read after offset that do not form a complete line yet; set with setPartial
	partialChunk *chunk    // the raw chunk partial lies in, referenced while partial is not empty
	readTo       int64     // how far a closed file was read (its partial line is read again on reopen)

	// last[:lastN] are the bytes before lastAt, as this process read them: fill checks they are still there.
	last   [checkBytes]byte
	lastN  uint8
	lastAt int64

	stream     *engine.Stream
	streamGen  uint32
	chunks     *streamChunks // the chunk uses of stream's events
	ml         *multiline
	format     *formatted // container log state; nil for plain lines
	seen       bool       // found in the current scan (by glob or identity search)
	present    bool       // found in the current scan by glob
	deleted    bool       // no link left: read to EOF, then release
	outOfSet   int        // consecutive scans in which an open file was not found by the globs
	search     bool       // not found where it was: look for it by identity in the watched directories
	atEOF      bool       // the last read found nothing new
	lastActive time.Time  // when a read last returned data (or the file was opened)
	waitSince  time.Time  // when it began waiting for an open slot
	limit      int64      // once mode: read up to here; -1 without a limit
	done       bool       // once mode: read to its limit
	verified   bool       // identity confirmed against the file on disk in this run
	turns      int        // reads since it was opened: a file is evicted only after it had a turn

	fromRegistry bool // loaded at start; a file with the same inode is this one only if its fingerprint matches
}

func (t *tracked) id() fileID { return fileID{t.dev, t.inode} }

// readPos is the raw offset of the next byte to read.
func (t *tracked) readPos() int64 { return t.offset + int64(len(t.partial)) }

// stateLocked returns the state to persist; s.mu must be held.
func (t *tracked) stateLocked() State {
	var birth time.Time
	if t.birth != 0 {
		birth = time.Unix(0, t.birth).UTC()
	}
	return State{Inode: t.inode, Device: t.dev, Path: t.path, Offset: t.acked, Size: t.size, Generation: t.gen,
		Fingerprint: t.fp, FingerprintLen: t.fpLen, LastSeen: t.lastSeen, Birth: birth}
}

// onAck records that every event of generation gen of t before pos is done. Called by the engine under the
// stream's lock, with increasing positions; it only records and hands the state to the registry, which coalesces
// commits. A stream of an older generation (the file was truncated since) or of a replaced file must not
// overwrite the newer state, so such acknowledgements are ignored; those of a generation that goes on in a copy
// are the copy's.
func (s *Source) onAck(t *tracked, gen uint32, pos int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := t.copies[gen]; c != nil; c = t.copies[gen] {
		t = c
	}
	if t.gone || gen != t.gen || pos <= t.acked {
		return
	}
	t.acked = pos
	s.reg.Save(s.cfg.Name, t.stateLocked())
}

// streamFor returns the stream of t's current generation, creating it on first use.
func (s *Source) streamFor(t *tracked) (*engine.Stream, error) {
	if t.stream != nil && t.streamGen == t.gen {
		return t.stream, nil
	}
	seed, err := streamSeed(s.cfg.Name, t.id(), t.birth, t.gen, t.f, s.split, s.scratch)
	if err != nil {
		return nil, err
	}
	gen := t.gen
	sc := &streamChunks{pool: &s.pool}
	// The chunks are released on every acknowledgement, also of a stale stream (older generation, replaced
	// file) whose positions onAck ignores.
	ack := func(pos int64) {
		sc.ack(pos)
		s.onAck(t, gen, pos)
	}
	st := engine.NewStream(&s.input, ack)
	st.Path, st.IDSeed = t.path, seed
	if s.cfg.Format == FormatPlain {
		// Container log events share positions (see formatted), which per-output positions cannot tell apart:
		// their streams have no Key, so a restart sends every output what was not committed.
		st.Key = streamKey(t.id(), seed)
	}
	if t.linkPath != "" {
		st.Path = t.linkPath
	}
	if streamCreated != nil {
		streamCreated(st, ack)
	}
	t.stream, t.streamGen, t.chunks = st, gen, sc
	return st, nil
}

// StreamKeyPrefix is how the Key of every stream of the file at (device, inode) starts: both, then the stream's
// IDSeed (which tells generations and files on a reused inode apart). The positions kept per output for a
// file's streams are removed with it by that prefix (Registry.Remove).
func StreamKeyPrefix(device, inode uint64) string {
	return string(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, device), inode))
}

// streamKey is the Key of a file's stream: stable across restarts for the same generation of the same file, as
// its positions (byte offsets) are.
func streamKey(id fileID, seed [16]byte) string {
	return StreamKeyPrefix(id.dev, id.inode) + string(seed[:])
}

// streamCreated, when set (by tests, before any source runs), is told every stream and its ack function.
var streamCreated func(st *engine.Stream, ack func(pos int64))

// forget drops t: it is no longer tracked and its acknowledgements are ignored.
func (s *Source) forget(t *tracked) {
	s.closeFile(t)
	s.mu.Lock()
	t.gone = true
	if s.files[t.id()] == t {
		delete(s.files, t.id())
	}
	s.mu.Unlock()
}

// closeFile releases t's handle. The unterminated line is dropped and read again when the file is reopened.
func (s *Source) closeFile(t *tracked) {
	if t.f == nil {
		return
	}
	_ = t.f.Close()
	t.readTo = t.readPos()
	t.f, t.atEOF = nil, false
	s.setPartial(t, nil, nil)
	s.openCount--
	s.stats.filesOpen.Add(-1)
	for i, o := range s.open {
		if o == t {
			s.open = append(s.open[:i], s.open[i+1:]...)
			break
		}
	}
}
