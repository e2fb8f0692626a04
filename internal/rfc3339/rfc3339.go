// Package rfc3339 parses RFC 3339 times from bytes without allocating: API item times, container log records.
package rfc3339

import (
	"fmt"
	"time"
)

// Error says where and why bytes are not an RFC 3339 time.
type Error struct {
	Offset int    // the byte where the problem was found
	Reason string // what was wanted there
}

func (e *Error) Error() string { return fmt.Sprintf("at byte %d: %s", e.Offset, e.Reason) }

// Parse parses YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM), rejecting impossible dates (Okta's own
// documentation example has September 31st) instead of normalising them. Any number of fraction digits is
// accepted (digits past the ninth are dropped); RFC 3339's lower-case t and z and a space for the T are
// accepted too. The result is in UTC. It does not allocate.
func Parse(b []byte) (time.Time, bool) {
	t, at, _ := parse(b)
	return t, at < 0
}

// ParseError is Parse that says where and why b is refused, as an *Error. It allocates only for the error.
func ParseError(b []byte) (time.Time, error) {
	t, at, reason := parse(b)
	if at >= 0 {
		return time.Time{}, &Error{Offset: at, Reason: reason}
	}
	return t, nil
}

// layout is the fixed part of a time, 'd' a digit; wants says what each position wants.
const layout = "dddd-dd-ddTdd:dd:dd"

var wants = [...]string{'d': "want a digit", '-': "want '-'", 'T': "want 'T'", ':': "want ':'"}

// parse returns the time in b, or the offset of the problem (>= 0) and the reason, a constant.
func parse(b []byte) (time.Time, int, string) {
	for i := range len(layout) {
		want := layout[i]
		if i >= len(b) {
			return time.Time{}, i, wants[want]
		}
		c := b[i]
		ok := c == want
		switch want {
		case 'd':
			ok = c >= '0' && c <= '9'
		case 'T':
			ok = c == 'T' || c == 't' || c == ' '
		}
		if !ok {
			return time.Time{}, i, wants[want]
		}
	}
	year, month, day := num2(b[0:])*100+num2(b[2:]), num2(b[5:]), num2(b[8:])
	hour, minute, sec := num2(b[11:]), num2(b[14:]), num2(b[17:])
	switch {
	case month < 1 || month > 12:
		return time.Time{}, 5, "month out of range"
	case day < 1 || day > DaysIn(time.Month(month), year):
		return time.Time{}, 8, "day out of range"
	case hour > 23:
		return time.Time{}, 11, "hour out of range"
	case minute > 59:
		return time.Time{}, 14, "minute out of range"
	case sec > 59:
		return time.Time{}, 17, "second out of range"
	}
	i := len(layout)
	nsec := 0
	if i < len(b) && b[i] == '.' {
		i++
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if n < 9 {
				nsec = nsec*10 + int(b[i]-'0')
			}
			n++
			i++
		}
		if n == 0 {
			return time.Time{}, i, "want a fraction digit after '.'"
		}
		for ; n < 9; n++ {
			nsec *= 10
		}
	}
	if i >= len(b) {
		return time.Time{}, i, "want Z or a ±hh:mm offset"
	}
	offset := 0
	switch b[i] {
	case 'Z', 'z':
		i++
	case '+', '-':
		z := b[i:]
		if len(z) < 6 || !isDigit(z[1]) || !isDigit(z[2]) || z[3] != ':' || !isDigit(z[4]) || !isDigit(z[5]) {
			return time.Time{}, i, "want a ±hh:mm offset"
		}
		oh, om := num2(z[1:]), num2(z[4:])
		if oh > 23 || om > 59 {
			return time.Time{}, i, "offset out of range"
		}
		offset = (oh*60 + om) * 60
		if z[0] == '-' {
			offset = -offset
		}
		i += 6
	default:
		return time.Time{}, i, "want Z or a ±hh:mm offset"
	}
	if i != len(b) {
		return time.Time{}, i, "want the end of the time after its zone"
	}
	unix := daysSinceEpoch(year, month, day)*86400 + int64(hour*3600+minute*60+sec-offset)
	return time.Unix(unix, int64(nsec)).UTC(), -1, ""
}

// daysSinceEpoch counts the days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's
// days_from_civil): cheaper than time.Date, which normalises, for a date already checked.
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

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// num2 reads two bytes already checked to be digits.
func num2(b []byte) int { return int(b[0]-'0')*10 + int(b[1]-'0') }

// DaysIn returns the number of days of month m in year (29 for a leap February).
func DaysIn(m time.Month, year int) int {
	switch m {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}
