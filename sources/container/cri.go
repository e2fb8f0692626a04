package container

import (
	"bytes"
	"fmt"
	"time"
)

// CRI log lines, as containerd and CRI-O write them for the kubelet (one record per line):
//
//	2016-10-06T00:17:09.669794202Z stdout P log content 1
//	2024-01-02T03:04:05.123456789+01:00 stderr F log content 2
//
// containerd writes time.RFC3339Nano in the node's zone (fraction trimmed of trailing zeros, absent when zero;
// "Z" only on a UTC node); CRI-O always writes 9 fraction digits and a numeric offset. The tag is P (the message
// continues in the stream's next record) or F, possibly followed by further ':'-separated fields the CRI keeps
// for later use.

// CRIError is a line that is not in the CRI format.
type CRIError struct {
	Part   string // the part that is wrong: "line", "time", "stream", "tag" or "content"
	Offset int    // the byte of the line where the problem was found
	Reason string
}

func (e *CRIError) Error() string {
	return fmt.Sprintf("cri line: %s at byte %d: %s", e.Part, e.Offset, e.Reason)
}

func criError(part string, offset int, format string, args ...any) error {
	return &CRIError{Part: part, Offset: offset, Reason: fmt.Sprintf(format, args...)}
}

// ParseCRI decodes one line of a CRI log, given with or without its final "\n". Content aliases line (nothing is
// copied) and is everything after the single space that follows the tag. A "\r" before the newline is content:
// containerd already strips the "\r\n" a container writes, while CRI-O's conmon keeps it, and the kubelet's
// reader keeps it too; trimming it is the caller's choice, made on the joined message. Time is in UTC, the line's
// offset applied. A malformed line returns a *CRIError; that includes a tag whose first field is neither P nor
// F, which the kubelet would read as F: no runtime writes one, so the line is not what it seems.
func ParseCRI(line []byte) (Record, error) {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if len(line) == 0 {
		return Record{}, criError("line", 0, "empty line")
	}
	t, p, err := parseCRITime(line)
	if err != nil {
		return Record{}, err
	}
	// p is just past the space after the time.
	var rec Record
	rec.Time = t
	const streamLen = len("stdout") // == len("stderr")
	switch {
	case len(line)-p >= streamLen && string(line[p:p+streamLen]) == "stdout":
		rec.Stream = StreamStdout
	case len(line)-p >= streamLen && string(line[p:p+streamLen]) == "stderr":
		rec.Stream = StreamStderr
	default:
		return Record{}, criError("stream", p, "want stdout or stderr, found %q", field(line[p:]))
	}
	p += streamLen
	if p == len(line) || line[p] != ' ' {
		return Record{}, criError("stream", p, "want a space after the stream, found %q", field(line[p-streamLen:]))
	}
	p++
	tagEnd := bytes.IndexByte(line[p:], ' ')
	tag := line[p:]
	if tagEnd >= 0 {
		tag = line[p : p+tagEnd]
	}
	first := tag
	if i := bytes.IndexByte(tag, ':'); i >= 0 {
		first = tag[:i]
	}
	switch {
	case len(first) == 1 && first[0] == 'P':
		rec.Partial = true
	case len(first) == 1 && first[0] == 'F':
	case len(tag) == 0:
		return Record{}, criError("tag", p, "empty tag, want P or F")
	default:
		return Record{}, criError("tag", p, "want P or F, found %q", clip(tag))
	}
	if tagEnd < 0 {
		return Record{}, criError("content", len(line), "want a space after the tag, found the end of the line")
	}
	rec.Content = line[p+tagEnd+1:]
	return rec, nil
}

// field is b up to its first space, for error messages.
func field(b []byte) []byte {
	if i := bytes.IndexByte(b, ' '); i >= 0 {
		b = b[:i]
	}
	return clip(b)
}

// clip keeps error messages short whatever the line.
func clip(b []byte) []byte {
	const most = 40
	if len(b) > most {
		return b[:most]
	}
	return b
}

// parseCRITime reads the RFC 3339 time that starts line and the space after it, and returns the time in UTC and
// the offset just past that space. It is a hand parser: time.Parse allocates for every time with a numeric
// offset other than the local zone's (a FixedZone per call) and for the string conversion of its input, and is
// slower (BenchmarkCRITime). It reads RFC 3339 with any number of fraction digits (nanoseconds kept, further
// digits dropped) and "Z" or a ±hh:mm offset: what time.Parse(time.RFC3339Nano, s) reads, to the same instant,
// less what RFC 3339 does not allow and no runtime writes (single-digit fields, ',' before the fraction, offsets
// of 24 hours or minutes past 59). FuzzParseCRITime checks that.
func parseCRITime(line []byte) (time.Time, int, error) {
	// 2006-01-02T15:04:05 is 19 bytes, fixed.
	const layout = "dddd-dd-ddTdd:dd:dd"
	if len(line) < len(layout) {
		return time.Time{}, 0, criError("time", 0, "want an RFC 3339 time, found %q", field(line))
	}
	for i := 0; i < len(layout); i++ {
		c := line[i]
		if want := layout[i]; want == 'd' {
			if c < '0' || c > '9' {
				return time.Time{}, 0, criError("time", i, "want a digit, found %q in %q", c, field(line))
			}
		} else if c != want {
			return time.Time{}, 0, criError("time", i, "want %q, found %q in %q", want, c, field(line))
		}
	}
	year := num4(line[0:])
	month := num2(line[5:])
	day := num2(line[8:])
	hour := num2(line[11:])
	minute := num2(line[14:])
	sec := num2(line[17:])
	switch {
	case month < 1 || month > 12:
		return time.Time{}, 0, criError("time", 5, "month %02d out of range in %q", month, field(line))
	case day < 1 || day > daysIn(month, year):
		return time.Time{}, 0, criError("time", 8, "day %02d out of range in %q", day, field(line))
	case hour > 23:
		return time.Time{}, 0, criError("time", 11, "hour %02d out of range in %q", hour, field(line))
	case minute > 59:
		return time.Time{}, 0, criError("time", 14, "minute %02d out of range in %q", minute, field(line))
	case sec > 59:
		return time.Time{}, 0, criError("time", 17, "second %02d out of range in %q", sec, field(line))
	}
	p := len(layout)
	nsec := 0
	if p < len(line) && line[p] == '.' {
		p++
		start := p
		for p < len(line) && digit(line[p]) {
			if p-start < 9 {
				nsec = nsec*10 + int(line[p]-'0')
			}
			p++
		}
		if p == start {
			return time.Time{}, 0, criError("time", p, "want a fraction digit after '.' in %q", field(line))
		}
		if n := p - start; n < 9 {
			nsec *= pow10[9-n]
		}
	}
	offset := 0
	switch {
	case p < len(line) && line[p] == 'Z':
		p++
	case p+6 <= len(line) && (line[p] == '+' || line[p] == '-'):
		z := line[p : p+6]
		if !digit(z[1]) || !digit(z[2]) || z[3] != ':' || !digit(z[4]) || !digit(z[5]) {
			return time.Time{}, 0, criError("time", p, "want a ±hh:mm offset, found %q", field(z))
		}
		oh, om := num2(z[1:]), num2(z[4:])
		if oh > 23 || om > 59 {
			return time.Time{}, 0, criError("time", p, "offset %s out of range", z)
		}
		offset = oh*3600 + om*60
		if z[0] == '-' {
			offset = -offset
		}
		p += 6
	default:
		return time.Time{}, 0, criError("time", p, "want Z or a ±hh:mm offset in %q", field(line))
	}
	if p == len(line) || line[p] != ' ' {
		return time.Time{}, 0, criError("time", p, "want a space after the time in %q", field(line))
	}
	unix := daysSinceEpoch(year, month, day)*86400 + int64(hour*3600+minute*60+sec-offset)
	return time.Unix(unix, int64(nsec)).UTC(), p + 1, nil
}

var pow10 = [...]int{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

func digit(c byte) bool { return c >= '0' && c <= '9' }

func num2(b []byte) int { return int(b[0]-'0')*10 + int(b[1]-'0') }

func num4(b []byte) int { return num2(b)*100 + num2(b[2:]) }

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysSinceEpoch counts the days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's
// days_from_civil), without time.Date's normalisation.
func daysSinceEpoch(year, month, day int) int64 {
	y := int64(year)
	if month <= 2 {
		y--
	}
	era := y / 400
	if y < 0 { // only January and February of year 0
		era = (y - 399) / 400
	}
	yoe := y - era*400
	m := int64(month)
	if m > 2 {
		m -= 3
	} else {
		m += 9
	}
	doy := (153*m+2)/5 + int64(day) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
