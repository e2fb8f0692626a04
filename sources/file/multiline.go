package file

import (
	"regexp"
	"time"
)

// multiline joins lines into events per MultilineConfig. One per file; used only by the reader goroutine.
type multiline struct {
	cfg    *MultilineConfig
	re     *regexp.Regexp
	before bool

	buf        []byte // the pending event's message, lines joined with '\n'
	lines      int
	start, end int64     // raw offset of the first line; position after the last line
	readAt     time.Time // read time of the first line: the event's time
	lastAdd    time.Time // the reader's active time (Source.active) of the last line, for the timeout
}

// joined is an event produced by the joiner; msg is only valid until the next call.
type joined struct {
	msg        []byte
	start, end int64
	readAt     time.Time
	split      bool // cut at max_lines or max_bytes
}

func newMultiline(cfg *MultilineConfig) *multiline {
	return &multiline{cfg: cfg, re: regexp.MustCompile(cfg.Pattern), before: cfg.Match == "before"}
}

func (m *multiline) pending() bool { return m.lines > 0 }

// add takes one decoded line at raw offsets [start, end), read at readAt (the reader's active time active), and
// calls emit for every event it completes.
func (m *multiline) add(line []byte, start, end int64, readAt, active time.Time, emit func(joined)) {
	cont := m.re.Match(line) != m.cfg.Negate
	if !m.before && !cont && m.pending() {
		m.flush(emit, false)
	}
	if m.pending() && (m.lines+1 > m.cfg.MaxLines || len(m.buf)+1+len(line) > m.cfg.MaxBytes) {
		m.flush(emit, true)
	}
	if !m.pending() {
		m.buf, m.start, m.readAt = append(m.buf[:0], line...), start, readAt
	} else {
		m.buf = append(append(m.buf, '\n'), line...)
	}
	m.lines++
	m.end, m.lastAdd = end, active
	if m.before && !cont {
		m.flush(emit, false)
	}
}

// expired reports whether the pending event waited longer than the timeout at the reader's active time now.
func (m *multiline) expired(now time.Time) bool {
	return m.pending() && now.Sub(m.lastAdd) >= m.cfg.Timeout
}

func (m *multiline) flush(emit func(joined), split bool) {
	if !m.pending() {
		return
	}
	emit(joined{msg: m.buf, start: m.start, end: m.end, readAt: m.readAt, split: split})
	m.buf, m.lines = m.buf[:0], 0
	if cap(m.buf) > 4*arenaChunk {
		m.buf = nil // do not keep a huge event's buffer per file
	}
}
