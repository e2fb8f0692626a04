package syslog

import (
	"fmt"
	"time"

	"github.com/flickerlog/flicker/internal/rfc3339"
)

// Message is one syslog message, parsed. Its byte slices alias the frame given to Parse: they are valid until
// the frame's bytes change.
type Message struct {
	// Priority is facility*8 + severity; -1 when the message has none (RFC 3164 senders may leave it out).
	Priority int
	// Time is the message's own time; zero when it has none.
	Time time.Time
	// Hostname, AppName, ProcID and MsgID are nil when the message has none (RFC 5424's "-"). In RFC 3164
	// AppName and ProcID come from the TAG, tag[pid]:.
	Hostname, AppName, ProcID, MsgID []byte
	// Sequence is the message counter or sequence number a Cisco device puts before the time ("000485:"),
	// digits only; nil without one.
	Sequence []byte
	// Msg is the MSG part: the free text after the header (an RFC 5424 BOM removed).
	Msg []byte

	// sd is RFC 5424 structured data, one entry per parameter (or per element without parameters), in order.
	sd []sdParam
	// sdRaw is the structured data's text instead, when it has more than maxSDParams entries (sd is then
	// empty); sdOver is set while parsing once that bound is passed.
	sdRaw  []byte
	sdOver bool
}

// sdParam is one PARAM of an SD-ELEMENT: value is still escaped (\" \\ \]) when esc is set. An element without
// parameters has one entry with a nil name.
type sdParam struct {
	id, name, value []byte
	esc             bool
}

// Facility and Severity split Priority; both are -1 without one.
func (m *Message) Facility() int {
	if m.Priority < 0 {
		return -1
	}
	return m.Priority >> 3
}

func (m *Message) Severity() int {
	if m.Priority < 0 {
		return -1
	}
	return m.Priority & 7
}

func (m *Message) reset() {
	*m = Message{Priority: -1, sd: m.sd[:0]} // at most maxSDParams entries: their room is kept
}

// Parser parses syslog frames of one format. One Parser per goroutine: it caches the last time it parsed.
type Parser struct {
	format string
	loc    *time.Location
	stamps rfc3339.Cache
}

// NewParser returns a parser of format (FormatAuto, FormatRFC5424 or FormatRFC3164) whose RFC 3164 times,
// which carry no zone, are in loc.
func NewParser(format string, loc *time.Location) *Parser {
	return &Parser{format: format, loc: loc}
}

// Parse parses frame (one message, without its framing) into m. now resolves RFC 3164's year-less times: this
// year, or last year when this year's would be more than a month ahead of now. In auto mode a frame that looks
// like RFC 5424 (<PRI>VERSION SP) and does not parse as it is read as RFC 3164 ("<13>42 items processed"). An
// error says why the frame is not a message of the parser's format; m is then incomplete.
func (p *Parser) Parse(frame []byte, now time.Time, m *Message) error {
	m.reset()
	switch p.format {
	case FormatRFC5424:
		return p.parse5424(frame, m)
	case FormatRFC3164:
		return p.parse3164(frame, now, m)
	}
	if looks5424(frame) {
		if p.parse5424(frame, m) == nil {
			return nil
		}
		m.reset()
	}
	return p.parse3164(frame, now, m)
}

// looks5424 reports whether b starts with <PRI>VERSION and a space, as every RFC 5424 message does and no
// RFC 3164 one can (its time starts with a month name or a four-digit year followed by '-').
func looks5424(b []byte) bool {
	_, i, err := parsePRI(b, name5424)
	if err != nil {
		return false
	}
	j := i
	for j < len(b) && j-i < 3 && isDigit(b[j]) {
		j++
	}
	return j > i && j < len(b) && b[j] == ' ' && b[i] != '0'
}

// Format names in errors.
const (
	name5424 = "RFC 5424"
	name3164 = "RFC 3164"
)

// parseError says where a frame stopped being a message of a format.
type parseError struct {
	format string
	at     int
	want   string
}

func (e *parseError) Error() string {
	return fmt.Sprintf("not %s syslog: %s at byte %d", e.format, e.want, e.at)
}

// parsePRI reads <PRI> at the start of b: the priority and the index after '>'.
func parsePRI(b []byte, format string) (int, int, error) {
	if len(b) == 0 || b[0] != '<' {
		return -1, 0, &parseError{format, 0, "want '<' starting the priority"}
	}
	pri, i := 0, 1
	for i < len(b) && i <= 3 && isDigit(b[i]) {
		pri = pri*10 + int(b[i]-'0')
		i++
	}
	switch {
	case i == 1:
		return -1, i, &parseError{format, i, "want the priority's digits after '<'"}
	case i >= len(b) || b[i] != '>':
		return -1, i, &parseError{format, i, "want '>' after at most 3 priority digits"}
	case pri > 191:
		return -1, 1, &parseError{format, 1, "want a priority from 0 to 191"}
	}
	return pri, i + 1, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
