package eventjson

import "time"

// Bounds of the instants that RFC 3339's four-digit year can express, in Unix seconds.
const (
	minUnix = -62167219200 // 0000-01-01T00:00:00Z
	maxUnix = 253402300799 // 9999-12-31T23:59:59Z
)

// secondsLen is the length of "2006-01-02T15:04:05.", the part of a timestamp that changes once a second.
const secondsLen = 20

// clock caches the rendering of the last second seen: events arrive in bursts within the same second, so most
// timestamps only need their nine fractional digits formatted.
type clock struct {
	sec    int64
	prefix [secondsLen]byte
	valid  bool
}

// appendTimestamp appends t in UTC as 2006-01-02T15:04:05.000000000Z.
func (c *clock) appendTimestamp(dst []byte, t time.Time) []byte {
	sec, nsec := t.Unix(), t.Nanosecond()
	switch {
	case sec < minUnix:
		sec, nsec = minUnix, 0
	case sec > maxUnix:
		sec, nsec = maxUnix, 999999999
	}
	if !c.valid || sec != c.sec {
		c.sec, c.valid = sec, true
		renderSeconds(&c.prefix, sec)
	}
	dst = append(dst, c.prefix[:]...)
	var frac [10]byte // nine digits and the zone
	for i := 7; i >= 1; i -= 2 {
		d := nsec % 100 * 2
		nsec /= 100
		frac[i], frac[i+1] = digitPairs[d], digitPairs[d+1]
	}
	frac[0] = byte('0' + nsec)
	frac[9] = 'Z'
	return append(dst, frac[:]...)
}

// digitPairs holds "00" to "99" back to back.
const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"4041424344454647484950515253545556575859606162636465666768697071727374757677787980818283848586878889" +
	"90919293949596979899"

// renderSeconds writes "2006-01-02T15:04:05." for Unix second sec. It computes the civil date directly: several
// times faster than time.Time.AppendFormat.
func renderSeconds(b *[secondsLen]byte, sec int64) {
	days := sec / 86400
	rem := sec % 86400
	if rem < 0 {
		days--
		rem += 86400
	}
	y, m, d := civil(days)
	put2(b[0:2], y/100)
	put2(b[2:4], y%100)
	b[4] = '-'
	put2(b[5:7], m)
	b[7] = '-'
	put2(b[8:10], d)
	b[10] = 'T'
	put2(b[11:13], rem/3600)
	b[13] = ':'
	put2(b[14:16], rem/60%60)
	b[16] = ':'
	put2(b[17:19], rem%60)
	b[19] = '.'
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date (the inverse of Howard Hinnant's
// days_from_civil).
func civil(days int64) (year, month, day int64) {
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097                                  // day of era [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // year of era [0, 399]
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // day of year, March-based [0, 365]
	mp := (5*doy + 2) / 153                                // month, March-based [0, 11]
	day = doy - (153*mp+2)/5 + 1
	month = mp + 3
	if month > 12 {
		month -= 12
	}
	year = yoe + era*400
	if month <= 2 {
		year++
	}
	return year, month, day
}

// put2 writes v (0 to 99) as two digits.
func put2(b []byte, v int64) {
	b[0], b[1] = digitPairs[v*2], digitPairs[v*2+1]
}
