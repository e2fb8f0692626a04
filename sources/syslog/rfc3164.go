package syslog

import (
	"time"

	"github.com/flickerlog/flicker/internal/rfc3339"
)

// parse3164 parses a BSD syslog message (RFC 3164) the way senders really write it:
//
//	[<PRI>][Cisco counters "237: 000485: "][Cisco host "router1: "][TIMESTAMP[:] ][HOSTNAME ][TAG[[PID]]: ]MSG
//
// Everything but the PRI is optional, as RFC 3164 section 4.3 has a relay accept it. The TIMESTAMP is
// "Mmm dd hh:mm:ss" (day space- or zero-padded, optional .fraction, optional year before the clock, Cisco's '*'
// or '.' in front and zone name after), or RFC 3339 (rsyslog's forwarding format). The word after the time is the
// HOSTNAME unless it ends with ':' (then it is the TAG: the hostname is missing) or holds bytes no host name
// has. Only a frame that starts with '<' and no valid PRI fails.
func (p *Parser) parse3164(b []byte, now time.Time, m *Message) error {
	i := 0
	if len(b) > 0 && b[0] == '<' {
		pri, j, err := parsePRI(b, name3164)
		if err != nil {
			return err
		}
		m.Priority, i = pri, j
	}
	for range 2 { // Cisco's message counter and its service sequence number
		seq, j := counter(b, i)
		if j == i {
			break
		}
		m.Sequence, i = seq, j
	}
	t, j, ok := p.stamp3164(b, i, now)
	if !ok {
		if host, k := ciscoHost(b, i); k > i {
			if t, j, ok = p.stamp3164(b, k, now); ok {
				m.Hostname = host
			}
		}
	}
	if ok {
		m.Time, i = t, j
		colon := i < len(b) && b[i] == ':' // Cisco: "Mar 12 07:12:10: %SYS-5-..."
		if colon {
			i++
		}
		if i < len(b) && b[i] == ' ' {
			i++
		}
		if !colon && m.Hostname == nil {
			w := word(b, i)
			if len(w) > 0 && i+len(w) < len(b) && isHostname(w) {
				m.Hostname, i = w, i+len(w)+1
			}
		}
	}
	i = m.tag(b, i)
	m.Msg = b[i:]
	return nil
}

// counter reads Cisco's "NNN: " at b[i:]: the digits and the index after the space.
func counter(b []byte, i int) ([]byte, int) {
	j := i
	for j < len(b) && j-i < 18 && isDigit(b[j]) {
		j++
	}
	if j == i || j+1 >= len(b) || b[j] != ':' || b[j+1] != ' ' {
		return nil, i
	}
	return b[i:j], j + 2
}

// ciscoHost reads Cisco's origin host name, "router1: ", before the time.
func ciscoHost(b []byte, i int) ([]byte, int) {
	w := word(b, i)
	if len(w) < 2 || w[len(w)-1] != ':' || i+len(w) >= len(b) || !isHostname(w[:len(w)-1]) {
		return nil, i
	}
	return w[:len(w)-1], i + len(w) + 1
}

// word returns the bytes of b from i to the next space or the end.
func word(b []byte, i int) []byte {
	j := i
	for j < len(b) && b[j] != ' ' {
		j++
	}
	return b[i:j]
}

// isHostname reports whether w can be a host name or an IP address (v6 included): letters, digits and ".-_:".
// A trailing ':' makes it a TAG instead.
func isHostname(w []byte) bool {
	if len(w) == 0 || len(w) > 255 || w[len(w)-1] == ':' {
		return false
	}
	for _, c := range w {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', isDigit(c), c == '.', c == '-', c == '_', c == ':':
		default:
			return false
		}
	}
	return true
}

// maxTag bounds the TAG; longer words are taken as the start of the message.
const maxTag = 128

// tag reads "TAG: " or "TAG[PID]: " (or either ending the frame) at b[i:] into m and returns the index of the message; i when there is none.
func (m *Message) tag(b []byte, i int) int {
	j := i
	for j < len(b) && j-i <= maxTag {
		c := b[j]
		if c <= ' ' || c >= 0x7f || c == '[' || c == ':' {
			break
		}
		j++
	}
	if j == i || j >= len(b) || j-i > maxTag {
		return i
	}
	name := b[i:j]
	var pid []byte
	if b[j] == '[' {
		k := j + 1
		for k < len(b) && b[k] != ']' && b[k] > ' ' && k-j <= maxTag {
			k++
		}
		if k >= len(b) || b[k] != ']' {
			return i
		}
		pid, j = b[j+1:k], k+1
	}
	// The ':' ends the frame or is followed by a space: "http://..." and "10:00" are not tags.
	if j >= len(b) || b[j] != ':' || j+1 < len(b) && b[j+1] != ' ' {
		return i
	}
	j = min(j+2, len(b))
	m.AppName, m.ProcID = name, pid
	if len(pid) == 0 {
		m.ProcID = nil
	}
	return j
}

// months are the month names RFC 3164 times start with.
var months = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// stamp3164 reads a time at b[i:]: the time, the index after it, and whether there was one.
func (p *Parser) stamp3164(b []byte, i int, now time.Time) (time.Time, int, bool) {
	if i < len(b) && (b[i] == '*' || b[i] == '.') {
		i++
	}
	if i+4 < len(b) && isDigit(b[i]) && isDigit(b[i+1]) && isDigit(b[i+2]) && isDigit(b[i+3]) && b[i+4] == '-' {
		return p.isoStamp(b, i)
	}
	if i+3 > len(b) {
		return time.Time{}, i, false
	}
	month := 0
	for k, name := range months {
		if (b[i]|0x20) == (name[0]|0x20) && (b[i+1]|0x20) == name[1] && (b[i+2]|0x20) == name[2] {
			month = k + 1
			break
		}
	}
	if month == 0 {
		return time.Time{}, i, false
	}
	j := i + 3
	if j >= len(b) || b[j] != ' ' {
		return time.Time{}, i, false
	}
	j++
	if j < len(b) && b[j] == ' ' {
		j++
	}
	day, j, ok := digits(b, j, 1, 2)
	if !ok || j >= len(b) || b[j] != ' ' {
		return time.Time{}, i, false
	}
	j++
	year := -1
	if y, k, ok := digits(b, j, 4, 4); ok && k < len(b) && b[k] == ' ' {
		year, j = y, k+1
	}
	hour, j, ok1 := digits(b, j, 2, 2)
	minute, j, ok2 := colonDigits(b, j)
	sec, j, ok3 := colonDigits(b, j)
	if !ok1 || !ok2 || !ok3 || hour > 23 || minute > 59 || sec > 60 || day < 1 || day > 31 {
		return time.Time{}, i, false
	}
	sec = min(sec, 59) // a leap second
	nsec := 0
	if j+1 < len(b) && b[j] == '.' && isDigit(b[j+1]) {
		j++
		n := 0
		for ; j < len(b) && isDigit(b[j]); j++ {
			if n < 9 {
				nsec = nsec*10 + int(b[j]-'0')
				n++
			}
		}
		for ; n < 9; n++ {
			nsec *= 10
		}
	}
	if j < len(b) && b[j] != ' ' && b[j] != ':' {
		return time.Time{}, i, false
	}
	loc := p.loc
	// Cisco's "show-timezone": a zone name between the time and its ':'.
	if j < len(b) && b[j] == ' ' {
		if z := word(b, j+1); len(z) >= 4 && len(z) <= 6 && z[len(z)-1] == ':' && upper(z[:len(z)-1]) {
			switch string(z[:len(z)-1]) {
			case "UTC", "GMT":
				loc = time.UTC
			}
			j += len(z) // at the ':'
		}
	}
	if year < 0 {
		t, ok := resolveYear(now, time.Month(month), day, hour, minute, sec, nsec, loc)
		return t, j, ok
	}
	if day > rfc3339.DaysIn(time.Month(month), year) {
		return time.Time{}, i, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc), j, true
}

func upper(w []byte) bool {
	for _, c := range w {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// isoStamp reads an RFC 3339 time at b[i:], with or without its zone (then it is the parser's), ending at a space
// or at a ':' followed by a space.
func (p *Parser) isoStamp(b []byte, i int) (time.Time, int, bool) {
	w := word(b, i)
	end := i + len(w)
	if n := len(w); n > 0 && w[n-1] == ':' {
		w, end = w[:n-1], end-1
	}
	if t, err := p.stamps.Parse(w); err == nil {
		return t, end, true
	}
	// Without a zone: append one on a copy and read it in the parser's zone.
	var buf [40]byte
	if len(w)+1 > len(buf) {
		return time.Time{}, i, false
	}
	n := copy(buf[:], w)
	buf[n] = 'Z'
	t, ok := rfc3339.Parse(buf[:n+1])
	if !ok {
		return time.Time{}, i, false
	}
	if p.loc != time.UTC {
		t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), p.loc)
	}
	return t, end, true
}

// digits reads min to max decimal digits at b[i:].
func digits(b []byte, i, minN, maxN int) (int, int, bool) {
	v, j := 0, i
	for j < len(b) && j-i < maxN && isDigit(b[j]) {
		v = v*10 + int(b[j]-'0')
		j++
	}
	return v, j, j-i >= minN
}

// colonDigits reads ":dd" at b[i:].
func colonDigits(b []byte, i int) (int, int, bool) {
	if i >= len(b) || b[i] != ':' {
		return 0, i, false
	}
	return digits(b, i+1, 2, 2)
}

// maxAhead is how far ahead of now a year-less time may be in the current year; beyond, it is from last year.
// Senders' clocks run a little ahead at most, while old messages (a relay's backlog, a replayed file) are common:
// rsyslog and syslog-ng prefer the past too.
const maxAhead = 31 * 24 * time.Hour

// resolveYear gives a year-less time this year, unless that puts it more than maxAhead after now: then last
// year (a Dec 31 message read on Jan 1, a Jun 5 message read on Dec 7 is six months old). Feb 29 outside a leap
// year is no time.
func resolveYear(now time.Time, month time.Month, day, hour, minute, sec, nsec int, loc *time.Location) (time.Time, bool) {
	y := now.In(loc).Year()
	if day <= rfc3339.DaysIn(month, y) {
		if t := time.Date(y, month, day, hour, minute, sec, nsec, loc); t.Sub(now) <= maxAhead {
			return t, true
		}
	}
	if day <= rfc3339.DaysIn(month, y-1) {
		return time.Date(y-1, month, day, hour, minute, sec, nsec, loc), true
	}
	return time.Time{}, false
}
