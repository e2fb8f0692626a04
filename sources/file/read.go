package file

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"sort"
	"time"

	"github.com/flickerlog/flicker/engine"
)

// schedule opens files that have unread data, up to max_open_files. When files wait for a slot, open files
// that already had a turn are closed to make room, idle ones and the least recently active first; a closed
// file waits behind those already waiting, so every file gets its turn.
func (s *Source) schedule(now time.Time) {
	var waiting []*tracked
	for _, t := range s.files {
		if t.f != nil || !t.seen || t.gone || t.done {
			continue
		}
		end, from := t.size, max(t.offset, t.readTo)
		if t.limit >= 0 {
			end, from = t.limit, t.offset // once mode: reopen to finish (and maybe flush) a partial line
		}
		if end <= from {
			if t.limit >= 0 {
				t.done = true
			}
			continue
		}
		if t.waitSince.IsZero() {
			t.waitSince = now
		}
		waiting = append(waiting, t)
	}
	if len(waiting) == 0 {
		return
	}
	sort.Slice(waiting, func(i, j int) bool {
		if !waiting[i].waitSince.Equal(waiting[j].waitSince) {
			return waiting[i].waitSince.Before(waiting[j].waitSince)
		}
		return waiting[i].inode < waiting[j].inode
	})
	if free := s.cfg.MaxOpenFiles - s.openCount; len(waiting) > free {
		var evict []*tracked
		for _, t := range s.open {
			// Files that cannot be reopened by path (deleted, renamed away) keep their handle.
			if t.turns > 0 && t.present && !t.deleted {
				evict = append(evict, t)
			}
		}
		sort.Slice(evict, func(i, j int) bool {
			if evict[i].atEOF != evict[j].atEOF {
				return evict[i].atEOF
			}
			return evict[i].lastActive.Before(evict[j].lastActive)
		})
		for _, t := range evict[:min(len(evict), len(waiting)-free)] {
			s.closeFile(t)
			t.waitSince = now
		}
	}
	for _, t := range waiting {
		if s.openCount >= s.cfg.MaxOpenFiles {
			break
		}
		f, err := s.openFile(t.path)
		if err != nil {
			if s.opts.Once {
				s.log.Warn().Err(err).Str("path", t.path).Msg("open; skipped in once mode")
				t.done = true
			}
			continue
		}
		info, err := statFile(f)
		same := err == nil && info.id() == t.id()
		if same {
			same, err = s.sameFile(t, f, info)
			same = same && err == nil
		}
		if !same {
			t.verified = false // something else is at the path now: the next scan sorts it out
			_ = f.Close()
			continue
		}
		s.opened(t, f, now)
	}
}

// opened makes f the open handle of t.
func (s *Source) opened(t *tracked, f *os.File, now time.Time) {
	t.f, t.atEOF, t.turns = f, false, 0
	s.setPartial(t, nil, nil)
	t.lastActive, t.waitSince = now, time.Time{}
	s.open = append(s.open, t)
	s.openCount++
	s.stats.filesOpen.Add(1)
}

// readTurn reads once from every open file, publishing each file's events after its read. It reports whether
// any file returned data.
func (s *Source) readTurn(ctx context.Context, pub engine.Publisher) (bool, error) {
	s.turn = append(s.turn[:0], s.open...)
	progressed := false
	for _, t := range s.turn {
		if t.f == nil {
			continue
		}
		got, err := s.readOnce(t)
		if err != nil {
			s.log.Warn().Err(err).Str("path", t.path).Msg("read; closing the file, it is reopened at the next scan")
			s.closeFile(t)
			t.verified = false
			t.done = s.opts.Once // once mode does not retry
		}
		progressed = progressed || got
		if err := s.publish(ctx, pub); err != nil {
			return progressed, err
		}
	}
	return progressed, nil
}

// checkBytes is how many bytes before the read position fill checks are still the ones read: at a line's end
// those are the last line's end, which lines of one layout often share for 8 bytes or more (`"info"}\n`).
const checkBytes = 32

// readOnce reads up to readSize bytes of t into the raw arena and turns its complete lines into events.
func (s *Source) readOnce(t *tracked) (bool, error) {
	t.turns++
	want := int64(readSize)
	if t.limit >= 0 {
		want = min(want, t.limit-t.readPos())
		if want <= 0 {
			s.finishOnce(t)
			return false, nil
		}
	}
	data, n, changed, err := s.fill(t, int(want))
	if err != nil {
		return false, err
	}
	if changed {
		s.replaced(t)
		return true, nil // the bytes just read belong to the new content; it is read from 0 next turn
	}
	if n == 0 {
		t.atEOF = true
		return false, nil
	}
	now := s.now()
	// A file that was idle, or not read for a scan interval (just opened, or the reader was held by a Publish
	// that blocked), may have been truncated and rewritten past the offset meanwhile, unseen by any scan. (fill's
	// check of the bytes before the offset catches most such rewrites at any time; this one catches the rest.)
	if (t.atEOF || now.Sub(t.lastActive) >= s.cfg.ScanInterval) && s.replacedWhileIdle(t) {
		return true, nil
	}
	t.atEOF, t.lastActive = false, now
	if _, err := s.streamFor(t); err != nil {
		return false, err
	}
	s.splitLines(t, data, now)
	if t.limit >= 0 && t.readPos() >= t.limit {
		s.finishOnce(t)
	}
	return true, nil
}

// replacedWhileIdle checks, when an idle file grows again or a file is read after a pause, that its first bytes
// are still the ones known: a truncation followed by new writes beyond the old offset is invisible to a size
// check, and reading on from the old offset would ship the middle of the new content (a line's tail, then lines
// at offsets that are not theirs). On a mismatch the file restarts at 0 in a new generation, and its copy, if
// any, is read on from the offset.
func (s *Source) replacedWhileIdle(t *tracked) bool {
	same, err := s.sameContent(t, t.f, t.readPos())
	if err != nil || same {
		return false
	}
	return s.replaced(t)
}

// replaced handles t's open file found with other content than was read: truncated and rewritten. It reports
// false when the file cannot be stat'ed (the next scan decides).
func (s *Source) replaced(t *tracked) bool {
	fi, err := t.f.Stat()
	if err != nil {
		return false
	}
	s.truncated(t, t.f, infoOf(fi))
	return true
}

// finishOnce ends a file in once mode: its size at start is read.
func (s *Source) finishOnce(t *tracked) {
	if len(t.partial) > 0 && s.cfg.FlushPartialOnClose {
		s.flushPartial(t)
	}
	s.flushJoined(t, true)
	t.done = true
	s.closeFile(t)
}

// fill reads the next bytes of t after its partial line into the raw arena, so that the partial line and the new
// bytes are contiguous, and returns them (partial line first) and how many bytes were read. When the partial
// line is still at the end of the arena's chunk (no other file read since), it is not copied. The returned bytes
// lie in the raw arena's current chunk.
//
// The same read takes the bytes before the read position again (up to checkBytes, those this process read):
// changed reports that they are not the bytes read before, so the file was truncated and rewritten past the
// position since, which no size check sees. Reading on would ship the middle of the new content (a line's tail
// first); the caller restarts the file instead. It costs no system call: the bytes land on the partial line's
// last bytes, or on bytes of padding before it that no event uses. More than one byte, since a rewrite whose
// lines end where the old ones did has the same byte ('\n') before a position at a line's end.
func (s *Source) fill(t *tracked, want int) (data []byte, n int, changed bool, err error) {
	p := len(t.partial)
	pos := t.readPos()
	k := 0 // the bytes checked
	if pos > 0 && t.lastAt == pos {
		k = int(t.lastN)
	}
	pad := max(0, k-p)
	const minRead = 16 << 10
	a := &s.raw
	atTail := p > 0 && len(a.buf) >= p && &a.buf[len(a.buf)-p] == &t.partial[0]
	if room := cap(a.buf) - len(a.buf); !atTail || pad > 0 || room < minRead {
		// A short partial line at the tail is copied after its padding, in the same chunk when there is room.
		if !atTail || room < pad+p+minRead {
			a.ensure(pad + p + max(minRead, min(want, readSize)))
		}
		from := int(t.lastN) - k
		a.buf = append(a.buf, t.last[from:from+pad]...) // the padding: the bytes before the partial line
		start := len(a.buf)
		a.buf = append(a.buf, t.partial...)
		s.setPartial(t, a.buf[start:], a.cur)
	}
	start := len(a.buf) - p
	room := a.buf[len(a.buf):cap(a.buf)]
	if len(room) > want {
		room = room[:want]
	}
	if k > 0 {
		at := len(a.buf) - k
		var before [checkBytes]byte
		copy(before[:], a.buf[at:])
		n, err = t.f.ReadAt(a.buf[at:len(a.buf)+len(room)], pos-int64(k))
		got := min(n, k)
		changed = got > 0 && !bytes.Equal(a.buf[at:at+got], before[:got])
		copy(a.buf[at:], before[:k])
		n = max(0, n-k)
	} else {
		n, err = t.f.ReadAt(room, pos)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, false, err
	}
	if changed {
		return nil, 0, true, nil
	}
	if n == 0 && p == 0 {
		a.buf = a.buf[:len(a.buf)-pad] // nothing read, no partial line: the padding is not kept
		return nil, 0, false, nil
	}
	a.buf = a.buf[:len(a.buf)+n]
	if n > 0 {
		// The bytes from the padding on are the file's, up to pos+n.
		known := min(checkBytes, pad+p+n)
		t.lastN, t.lastAt = uint8(copy(t.last[:], a.buf[len(a.buf)-known:])), pos+int64(n)
	}
	return a.buf[start:], n, false, nil
}

// splitLines turns the complete lines (and long-line pieces) of data, which starts at t.offset and lies in the
// raw arena's current chunk, into events and keeps the rest as t's partial line.
func (s *Source) splitLines(t *tracked, data []byte, readAt time.Time) {
	pos, lines, pieces := 0, 0, 0
	fast := s.enc == encUTF8 && s.cfg.Multiline == nil && t.stream != nil && t.streamGen == t.gen
	plain := fast && s.cfg.Format == FormatPlain
	st, sc, c := t.stream, t.chunks, s.raw.cur
	for {
		ll, consumed := s.split.next(data[pos:])
		if consumed == 0 {
			break
		}
		lines++
		if ll == consumed {
			pieces++ // no newline consumed: a piece of a long line
		}
		start := t.offset + int64(pos)
		if plain && start > 0 {
			// UTF-8 without multi-line: the message is the raw line itself.
			msg := data[pos : pos+ll : pos+ll]
			if ll != consumed && ll > 0 && msg[ll-1] == '\r' {
				msg = msg[:ll-1]
			}
			s.emitTo(st, sc, msg, c, start, start+int64(consumed), readAt)
		} else if fast && start > 0 && ll != consumed && t.format != nil && t.format.format != nil {
			s.recordFast(t, data[pos:pos+ll:pos+ll], c, start, start+int64(consumed), readAt)
		} else {
			s.line(t, data[pos:pos+ll:pos+ll], c, start, start+int64(consumed), ll != consumed, readAt)
		}
		pos += consumed
	}
	s.stats.lines.Add(uint64(lines))
	if pieces > 0 {
		s.stats.longPieces.Add(uint64(pieces))
	}
	s.stats.bytes.Add(uint64(pos))
	t.offset += int64(pos)
	s.setPartial(t, data[pos:len(data):len(data)], c)
}

// flushPartial ships t's unterminated last line as an event.
func (s *Source) flushPartial(t *tracked) {
	s.stats.lines.Add(1)
	s.stats.bytes.Add(uint64(len(t.partial)))
	// The partial line may lie in an older chunk than the current one: its event references that chunk.
	s.line(t, t.partial, t.partialChunk, t.offset, t.readPos(), false, s.now())
	t.offset = t.readPos()
	s.setPartial(t, nil, nil)
}

var boms = [...][]byte{encUTF8: {0xEF, 0xBB, 0xBF}, encUTF16LE: {0xFF, 0xFE}, encUTF16BE: {0xFE, 0xFF}}

// line turns one raw line at [start, end), whose bytes lie in chunk c, into an event, or into a multi-line joiner
// (which copies it). complete is false for a piece of a long line and for a flushed partial line: only complete
// lines lose a trailing '\r'.
func (s *Source) line(t *tracked, raw []byte, c *chunk, start, end int64, complete bool, readAt time.Time) {
	if start == 0 && int(s.enc) < len(boms) && bytes.HasPrefix(raw, boms[s.enc]) {
		raw = raw[len(boms[s.enc]):]
	}
	msg := raw
	if s.enc != encUTF8 {
		s.out.ensure(s.enc.decodedMax(len(raw)))
		d, invalid := s.enc.appendDecoded(s.out.tail(), raw)
		msg, c = s.out.commit(d), s.out.cur
		if invalid > 0 {
			s.stats.invalid.Add(uint64(invalid))
		}
	}
	if s.cfg.Format != FormatPlain {
		if t.format == nil {
			t.format = s.newFormatted(t)
		}
		// A container format gets the line with its '\r': the end of a CRI record that a message continues
		// after is content, and the format drops what ends a message.
		if s.record(t, msg, c, start, end, readAt) {
			return
		}
		// A plain file under format: auto is split with a container record's longer limit (rawLineMax): its
		// lines are cut here as the splitter cuts a plain file's, each piece at its own raw offsets.
		for s.enc == encUTF8 && len(msg) > s.cfg.MaxLineBytes {
			n := s.cfg.MaxLineBytes
			s.stats.longPieces.Add(1)
			s.plainLine(t, msg[:n:n], c, start, start+int64(n), false, readAt)
			msg, start = msg[n:], start+int64(n)
		}
	}
	s.plainLine(t, msg, c, start, end, complete, readAt)
}

// plainLine emits msg, a plain line (or a piece of one) at raw offsets [start, end) in chunk c, or hands it to
// the file's multi-line joiner.
func (s *Source) plainLine(t *tracked, msg []byte, c *chunk, start, end int64, complete bool, readAt time.Time) {
	if complete && len(msg) > 0 && msg[len(msg)-1] == '\r' {
		msg = msg[:len(msg)-1]
	}
	if t.ml != nil || s.cfg.Multiline != nil {
		if t.ml == nil {
			t.ml = newMultiline(s.cfg.Multiline)
		}
		s.cur = t
		t.ml.add(msg, start, end, readAt, s.active(readAt), s.emitFn)
		return
	}
	s.emit(t, msg, c, start, end, readAt)
}

// emitJoined copies a joined multi-line message into the output arena and emits it for s.cur.
func (s *Source) emitJoined(j joined) {
	if j.split {
		s.stats.mlSplits.Add(1)
	}
	s.out.ensure(len(j.msg))
	msg := s.out.commit(append(s.out.tail(), j.msg...))
	s.emit(s.cur, msg, s.out.cur, j.start, j.end, j.readAt)
}

// emit collects an event of t with msg, which lies in chunk c.
func (s *Source) emit(t *tracked, msg []byte, c *chunk, start, end int64, readAt time.Time) {
	st := t.stream
	if st == nil || t.streamGen != t.gen {
		var err error
		if t.f == nil {
			s.log.Error().Str("path", t.path).Msg("event without a stream: dropped") // not reachable by design
			return
		}
		if st, err = s.streamFor(t); err != nil {
			s.log.Warn().Err(err).Str("path", t.path).Msg("derive event ids")
			return
		}
	}
	s.emitTo(st, t.chunks, msg, c, start, end, readAt)
}

// emitTo collects an event of stream st (whose chunk uses are sc) with msg, which lies in chunk c. Every message
// of an event lies in an arena chunk, so that the chunk is referenced until the event is acknowledged.
func (s *Source) emitTo(st *engine.Stream, sc *streamChunks, msg []byte, c *chunk, start, end int64,
	readAt time.Time) {
	s.use(sc, c, end, false)
	// Filled in place: building an Event and appending it copies 128 bytes with write barriers.
	n := len(s.events)
	if n < cap(s.events) {
		s.events = s.events[:n+1]
	} else {
		s.events = append(s.events, engine.Event{})
	}
	e := &s.events[n]
	e.Time, e.Message, e.Stream, e.Offset, e.Pos = readAt, msg, st, start, end
	if s.cfg.Format != FormatPlain {
		e.Extra = nil // the slot may hold a container event's (format: auto reads plain files too)
	}
}

// expireMultiline ships multi-line events pending longer than the timeout, and container messages whose next
// record has not come for join_timeout.
func (s *Source) expireMultiline() {
	if s.cfg.Multiline == nil && s.cfg.Format == FormatPlain {
		return
	}
	now := s.now()
	if now.Before(s.nextMLRun) {
		return
	}
	every := s.cfg.JoinTimeout
	if s.cfg.Multiline != nil {
		every = min(every, s.cfg.Multiline.Timeout)
	}
	s.nextMLRun = now.Add(min(every/4, s.cfg.ScanInterval))
	active := s.active(now)
	for _, t := range s.files {
		if t.ml != nil && t.ml.expired(active) {
			s.cur = t
			t.ml.flush(s.emitFn, false)
		}
		if t.format == nil {
			continue
		}
		expired := false
		for _, js := range t.format.streams {
			if js.active && active.Sub(js.lastAdd) >= s.cfg.JoinTimeout {
				s.cur, expired = t, true
				js.active = false
				s.joinedMessage(t, js, js.buf, nil, js.start, js.end, js.time)
			}
			if js.ml != nil && js.ml.expired(active) {
				s.cur, s.curJoin, expired = t, js, true
				js.ml.flush(s.emitMLFn, false)
			}
		}
		if expired {
			s.settle(t)
		}
	}
}
