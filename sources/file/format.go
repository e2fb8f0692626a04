package file

import (
	"encoding/json"
	"math"
	"time"

	"github.com/flickerlog/flicker/engine"
)

// Piece is one record of a container log, decoded: a whole message, or a piece of one that continues in the
// next record of the same stream (Partial).
type Piece struct {
	Time    time.Time
	Stream  string // "stdout" or "stderr"; empty when the record names none
	Partial bool
	// DropCR, on the record that ends a joined message, drops the message's final "\r": CRI-O cuts a line
	// ending in "\r\n" after the "\r" when its buffer ends there, leaving an empty last record.
	DropCR bool
	// Content is the message text without its final newline. It may alias the line or the decoder's own buffer.
	// Content that is part of the line (a whole message in one record) is shipped where it lies, as a plain
	// line is; any other is copied before the next Decode.
	Content []byte
	// Room, when the source sets it, returns at least n bytes of free space in the source's output arena, to
	// append to from its start: a Format that builds the content (unescaping it) may build it there, and the
	// source then ships it where it lies instead of copying it. Content built there is valid until the next
	// Decode, as the decoder's own buffer would be.
	Room func(n int) []byte
}

// Format decodes the lines of one container log format (Docker json-file, CRI). The source calls it from its
// reader goroutine only.
type Format interface {
	// Name is what Config.Format calls the format: docker, cri.
	Name() string
	// Decode decodes one line, without its newline, into p. An error means the line is malformed: it is shipped
	// raw with the error's text in error.message, and counted.
	Decode(line []byte, p *Piece) error
}

// Values of Config.Format. A named format is decoded by the Format of that name in Options.Formats.
const (
	FormatPlain  = ""       // plain lines
	FormatAuto   = "auto"   // each file's first line read picks the format that decodes it; none: plain lines
	FormatDocker = "docker" // Docker's json-file driver
	FormatCRI    = "cri"    // the CRI format of containerd and CRI-O
)

// malformedLogEvery rate-limits the warning about malformed lines, per file.
const malformedLogEvery = time.Minute

// maxErrExtra bounds the error members cached per file: an error's text may quote the line (CRI), so a file of
// garbage would otherwise grow the cache by a member per line.
const maxErrExtra = 64

// formatted is the container-log state of one file: its format and the messages being joined, per stream (the
// two streams' records interleave in one file). Owned by the reader goroutine.
//
// Positions: an event's Pos is not its end but the latest safe position, one that no message straddles and
// before which every message was emitted. Resuming there never reads half of a message: while a message of one
// stream is being joined, the events of the other stream are emitted with a position at or before its start
// (after a crash they are sent again; ids are stable). A pending multi-line event counts as a message too.
type formatted struct {
	format  Format
	plain   bool // auto mode found no format in the first line: read as plain lines
	streams []*joinStream
	meta    []byte // the members Options.Meta gave for the file
	safe    int64  // the latest safe position
	reach   int64  // the largest end of an emitted message
	lastEnd int64  // the end of the last record
	warned  time.Time
	piece   Piece // the record being decoded
	room    func(n int) []byte
	// lastPos is the position settle last gave events of the engine stream whose chunk uses are lastPosOf.
	lastPos   int64
	lastPosOf *streamChunks
	// errExtra holds the members of malformed lines' events (error.message and meta), by error text.
	errExtra map[string][]byte
}

// joinStream is one stream's message being joined from partial records, and its multi-line joiner.
type joinStream struct {
	name    string
	extra   []byte // `,"stream":"stdout"` and the file's meta: every event of the stream carries it
	buf     []byte
	start   int64 // raw offset of the message's first record
	end     int64 // raw offset after its last record so far
	time    time.Time
	lastAdd time.Time // the reader's active time (Source.active) when its last record was read
	active  bool
	ml      *multiline
}

// pendingEvent is an event emitted while a record is processed, whose position is set once the record is done;
// its message lies in chunk c.
type pendingEvent struct {
	c *chunk
}

func (s *Source) newFormatted(t *tracked) *formatted {
	f := &formatted{safe: t.offset, reach: t.offset, lastEnd: t.offset}
	switch s.cfg.Format {
	case FormatPlain:
		return nil
	case FormatAuto:
	default:
		for _, ff := range s.opts.Formats {
			if ff.Name() == s.cfg.Format {
				f.format = ff
			}
		}
	}
	if s.opts.Meta != nil {
		f.meta = s.opts.Meta(t.path)
	}
	f.room = s.room
	return f
}

// room returns the output arena's free space, at least n bytes of it (Piece.Room).
func (s *Source) room(n int) []byte {
	s.out.ensure(n)
	return s.out.tail()
}

// refreshMeta asks Options.Meta again for the members of t's events (a container renamed); events already
// emitted keep theirs.
func (s *Source) refreshMeta(t *tracked) {
	f := t.format
	if f == nil || s.opts.Meta == nil {
		return
	}
	meta := s.opts.Meta(t.path)
	if string(meta) == string(f.meta) {
		return
	}
	f.meta, f.errExtra = meta, nil
	for _, js := range f.streams {
		js.extra = streamExtra(js.name, meta)
	}
}

func streamExtra(name string, meta []byte) []byte {
	var b []byte
	if name != "" {
		q, _ := json.Marshal(name)
		b = append(append([]byte(`,"stream":`), q...), meta...)
	} else {
		b = append(b, meta...)
	}
	return b
}

// detect picks the format of t from line, in auto mode.
func (s *Source) detect(f *formatted, line []byte) {
	var p Piece
	for _, ff := range s.opts.Formats {
		if ff.Decode(line, &p) == nil {
			f.format = ff
			return
		}
	}
	f.plain = true
}

func (f *formatted) stream(name string) *joinStream {
	for _, js := range f.streams {
		if js.name == name {
			return js
		}
	}
	js := &joinStream{name: name, extra: streamExtra(name, f.meta)}
	f.streams = append(f.streams, js)
	return js
}

// record takes one decoded line of t at raw offsets [start, end), lying in chunk c. It reports false when t is
// read as plain lines.
func (s *Source) record(t *tracked, raw []byte, c *chunk, start, end int64, readAt time.Time) bool {
	f := t.format
	if f.format == nil && !f.plain {
		s.detect(f, raw)
	}
	if f.plain {
		return false
	}
	s.cur = t
	p := &f.piece // not a local: one handed to the interface method would be allocated per line
	p.Room = nil
	s.decoded(t, f, p, f.format.Decode(raw, p), raw, c, start, end, readAt)
	return true
}

// decoded processes record p of t, decoded from raw with error err: a malformed line is shipped as it is, a
// piece of an admitted stream joined into its message.
func (s *Source) decoded(t *tracked, f *formatted, p *Piece, err error, raw []byte, c *chunk, start, end int64,
	readAt time.Time) {
	if err != nil {
		s.malformed(t, raw, c, start, end, readAt, err)
	} else if len(s.opts.Streams) == 0 || contains(s.opts.Streams, p.Stream) {
		s.piece(t, f, p, raw, c, start, end, readAt)
	}
	f.lastEnd = end
	s.settle(t)
}

// recordFast is record for a complete line at [start, end) of t, read as UTF-8 without multi-line and past the
// file's first line (a possible BOM), whose format is known: splitLines checks all that. A whole message of an
// admitted stream, decoded while no message is being joined (the common case), is emitted as splitLines emits
// a plain line: at its own end, which is then the safe position, without the held events and settling of the
// general path, which gives it the same position. Anything else goes on through the general path, decoded once.
func (s *Source) recordFast(t *tracked, line []byte, c *chunk, start, end int64, readAt time.Time) {
	f := t.format
	p := &f.piece
	idle := true
	for _, js := range f.streams {
		idle = idle && !js.active
	}
	// Room only while nothing is joined: content built there must be shipped or copied before the arena is
	// asked for room again, and the general path does that at once only for a record that starts no join
	// after another message's.
	p.Room = nil
	if idle {
		p.Room = f.room
	}
	err := f.format.Decode(line, p)
	if err == nil && idle && !p.Partial && len(p.Content) <= s.cfg.MaxLineBytes &&
		(len(s.opts.Streams) == 0 || contains(s.opts.Streams, p.Stream)) {
		js := f.stream(p.Stream)
		msg := p.Content
		if inLine(msg, line) {
			msg = msg[:len(msg):len(msg)]
		} else {
			msg, c = s.outMessage(msg), s.out.cur
		}
		s.use(t.chunks, c, end, false)
		n := len(s.events) // filled in place, as in emitTo
		if n < cap(s.events) {
			s.events = s.events[:n+1]
		} else {
			s.events = append(s.events, engine.Event{})
		}
		e := &s.events[n]
		e.Time, e.Message, e.Stream, e.Offset, e.Pos, e.Extra = p.Time, msg, t.stream, start, end, js.extra
		f.safe, f.reach, f.lastEnd, f.lastPos, f.lastPosOf = end, end, end, end, t.chunks
		return
	}
	s.cur = t
	s.decoded(t, f, p, err, line, c, start, end, readAt)
}

// outMessage returns msg in the output arena: where it lies when a Format built it in the arena's free space
// (Piece.Room), else copied there.
func (s *Source) outMessage(msg []byte) []byte {
	if tail := s.out.tail(); len(msg) > 0 && len(msg) <= cap(tail) && &tail[:1][0] == &msg[0] {
		return s.out.commit(msg)
	}
	s.out.ensure(len(msg))
	return s.out.commit(append(s.out.tail(), msg...))
}

// piece joins p, decoded from line (which lies in chunk c), into its stream's message and emits what it
// completes.
func (s *Source) piece(t *tracked, f *formatted, p *Piece, line []byte, c *chunk, start, end int64,
	readAt time.Time) {
	js := f.stream(p.Stream)
	if js.active && len(js.buf)+len(p.Content) > s.cfg.MaxLineBytes {
		// Too long: what was joined so far is shipped as it is and the message goes on as a new one, as a line
		// longer than max_line_bytes is cut.
		s.stats.longPieces.Add(1)
		s.joinedMessage(t, js, js.buf, nil, js.start, start, js.time)
		js.active = false
	}
	// A record whose content alone is longer ships the excess first, in messages of max_line_bytes, as a long
	// line is cut; their offsets follow the record's own (within the record: distinct ids), and the rest goes on
	// as the record.
	for k := int64(1); len(p.Content) > s.cfg.MaxLineBytes; k++ {
		s.stats.longPieces.Add(1)
		var in *chunk
		if inLine(p.Content, line) {
			in = c
		}
		s.joinedMessage(t, js, p.Content[:s.cfg.MaxLineBytes], in, start+k, end, p.Time)
		p.Content = p.Content[s.cfg.MaxLineBytes:]
	}
	if !js.active {
		if !p.Partial {
			// A whole message in one record, the common case: when its content is part of the line (not the
			// decoder's buffer), the event takes it where it lies, as a plain line's does.
			var in *chunk
			if inLine(p.Content, line) {
				in = c
			}
			s.joinedMessage(t, js, p.Content, in, start, end, p.Time)
			return
		}
		js.active, js.start, js.time, js.buf = true, start, p.Time, js.buf[:0]
	}
	js.buf = append(js.buf, p.Content...)
	if p.Partial {
		js.end, js.lastAdd = end, s.active(readAt)
		return
	}
	js.active = false
	if n := len(js.buf); p.DropCR && n > 0 && js.buf[n-1] == '\r' {
		js.buf = js.buf[:n-1]
	}
	s.joinedMessage(t, js, js.buf, nil, js.start, end, js.time)
	js.buf = js.buf[:0]
	if cap(js.buf) > 4*arenaChunk {
		js.buf = nil // do not keep a huge message's buffer per stream
	}
}

// joinedMessage hands a whole message of stream js at [start, end) to the stream's multi-line joiner or emits
// it. A message that lies in chunk in is emitted where it lies; with in nil, it is copied into the output arena.
func (s *Source) joinedMessage(t *tracked, js *joinStream, msg []byte, in *chunk, start, end int64, tm time.Time) {
	if s.cfg.Multiline != nil {
		if js.ml == nil {
			js.ml = newMultiline(s.cfg.Multiline)
		}
		s.curJoin = js
		js.ml.add(msg, start, end, tm, s.active(s.now()), s.emitMLFn)
		return
	}
	if in != nil {
		s.emitHeld(t, msg[:len(msg):len(msg)], in, start, end, tm, js.extra)
		return
	}
	out := s.outMessage(msg)
	s.emitHeld(t, out, s.out.cur, start, end, tm, js.extra)
}

// inLine reports whether content, which a Format decoded from line, is part of line rather than of a buffer of
// the decoder's: a slice of line ends its capacity where line's ends. An empty content is not (it is copied, which
// costs nothing, and so stays a non-nil message as before).
func inLine(content, line []byte) bool {
	if len(content) == 0 || cap(line) == 0 {
		return false
	}
	return &content[:cap(content)][cap(content)-1] == &line[:cap(line)][cap(line)-1]
}

// emitML emits a multi-line event of stream s.curJoin of file s.cur.
func (s *Source) emitML(j joined) {
	if j.split {
		s.stats.mlSplits.Add(1)
	}
	s.out.ensure(len(j.msg))
	msg := s.out.commit(append(s.out.tail(), j.msg...))
	s.emitHeld(s.cur, msg, s.out.cur, j.start, j.end, j.readAt, s.curJoin.extra)
}

// malformed ships a line the format cannot decode as it is, with the reason, and warns once a minute per file.
func (s *Source) malformed(t *tracked, raw []byte, c *chunk, start, end int64, readAt time.Time, err error) {
	s.stats.malformed.Add(1)
	if n := len(raw); n > 0 && raw[n-1] == '\r' {
		raw = raw[:n-1] // as a plain line loses it
	}
	f := t.format
	if now := s.now(); now.Sub(f.warned) >= malformedLogEvery {
		f.warned = now
		s.log.Warn().Err(err).Str("path", t.path).Int64("offset", start).Str("format", f.format.Name()).
			Msg("malformed line shipped as it is with error.message (logged once a minute per file)")
	}
	extra, ok := f.errExtra[err.Error()]
	if !ok {
		q, _ := json.Marshal(err.Error())
		extra = append(append(append([]byte(`,"error":{"message":`), q...), '}'), f.meta...)
		if f.errExtra == nil || len(f.errExtra) >= maxErrExtra {
			f.errExtra = make(map[string][]byte)
		}
		f.errExtra[err.Error()] = extra
	}
	s.emitHeld(t, raw, c, start, end, readAt, extra)
}

// emitHeld collects an event of t whose position settle sets once the record is done.
func (s *Source) emitHeld(t *tracked, msg []byte, c *chunk, start, end int64, tm time.Time, extra []byte) {
	st, err := s.streamFor(t)
	if err != nil {
		s.log.Warn().Err(err).Str("path", t.path).Msg("derive event ids")
		return
	}
	n := len(s.events) // filled in place, as in emitTo
	if n < cap(s.events) {
		s.events = s.events[:n+1]
	} else {
		s.events = append(s.events, engine.Event{})
	}
	e := &s.events[n]
	e.Time, e.Message, e.Stream, e.Offset, e.Extra = tm, msg, st, start, extra
	s.heldEvents = append(s.heldEvents, pendingEvent{c: c})
	t.format.reach = max(t.format.reach, end)
}

// settle moves t's safe position as far as the messages still being joined allow and gives it to the events
// emitted since the last settle.
func (s *Source) settle(t *tracked) {
	f := t.format
	unfinished := int64(math.MaxInt64)
	for _, js := range f.streams {
		if js.active {
			unfinished = min(unfinished, js.start)
		}
		if js.ml != nil && js.ml.pending() {
			unfinished = min(unfinished, js.ml.start)
		}
	}
	if c := min(unfinished, f.lastEnd); f.reach <= c && c > f.safe {
		f.safe = c
	}
	if len(s.heldEvents) == 0 {
		return
	}
	first := len(s.events) - len(s.heldEvents)
	// Events held behind a join share a position; the engine acknowledges it when the first of them is done,
	// so the chunks of the others wait for an acknowledgement beyond it.
	again := f.lastPosOf == t.chunks && f.lastPos == f.safe
	for i, h := range s.heldEvents {
		s.events[first+i].Pos = f.safe
		s.use(t.chunks, h.c, f.safe, again || i > 0)
	}
	f.lastPos, f.lastPosOf = f.safe, t.chunks
	clear(s.heldEvents)
	s.heldEvents = s.heldEvents[:0]
}

// flushJoined ships what t holds back: its multi-line events and, when the file is gone, truncated or done
// (final), the messages whose last record never came (each as it is).
func (s *Source) flushJoined(t *tracked, final bool) {
	if t.ml != nil {
		s.cur = t
		t.ml.flush(s.emitFn, false)
	}
	f := t.format
	if f == nil {
		return
	}
	s.cur = t
	for _, js := range f.streams {
		if final && js.active {
			js.active = false
			s.joinedMessage(t, js, js.buf, nil, js.start, js.end, js.time)
		}
		if js.ml != nil {
			s.curJoin = js
			js.ml.flush(s.emitMLFn, false)
		}
	}
	s.settle(t)
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
