package api

import (
	"strconv"
	"time"

	"github.com/flickerlog/flicker/internal/rfc3339"
)

// parseTimeValue reads an item's time from its raw JSON value: a string in RFC 3339 (any fraction, Z or an
// offset; a space instead of the T is accepted), or a number of seconds, milliseconds, microseconds or
// nanoseconds since the epoch, told apart by magnitude. It does not allocate. The result is in UTC.
func parseTimeValue(raw []byte) (time.Time, bool) {
	if len(raw) == 0 {
		return time.Time{}, false
	}
	if raw[0] == '"' {
		if len(raw) < 2 {
			return time.Time{}, false
		}
		return rfc3339.Parse(raw[1 : len(raw)-1])
	}
	return parseEpoch(raw)
}

// Epoch magnitudes: a value below epochSecondsMax is seconds (up to the year 5138), below epochMillisMax
// milliseconds, below epochMicrosMax microseconds, else nanoseconds.
const (
	epochSecondsMax = 1e11
	epochMillisMax  = 1e14
	epochMicrosMax  = 1e17
)

// parseEpoch reads a non-negative JSON number of seconds (a fraction allowed), milliseconds, microseconds or
// nanoseconds since the epoch.
func parseEpoch(b []byte) (time.Time, bool) {
	i, whole := 0, int64(0)
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		if whole > (1<<62)/10 {
			return time.Time{}, false
		}
		whole = whole*10 + int64(b[i]-'0')
		i++
	}
	if i == 0 {
		return time.Time{}, false
	}
	frac, scale := int64(0), int64(1)
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if scale < 1e9 {
				frac, scale = frac*10+int64(b[i]-'0'), scale*10
			}
			i++
		}
		if i == start {
			return time.Time{}, false
		}
	}
	if i != len(b) {
		return time.Time{}, false // exponents and signs: not a time anyone sends
	}
	switch {
	case whole < epochSecondsMax:
		return time.Unix(whole, frac*(1e9/scale)).UTC(), true
	case whole < epochMillisMax:
		return time.UnixMilli(whole).UTC(), true
	case whole < epochMicrosMax:
		return time.UnixMicro(whole).UTC(), true
	default:
		return time.Unix(0, whole).UTC(), true
	}
}

// formatSince writes t for since_param.
func formatSince(t time.Time, format string) string {
	switch format {
	case SinceUnix:
		return strconv.FormatInt(t.Unix(), 10)
	case SinceUnixMS:
		return strconv.FormatInt(t.UnixMilli(), 10)
	}
	// Milliseconds at most (Okta's published precision), rounded down: since is inclusive, so earlier is safe.
	return t.UTC().Truncate(time.Millisecond).Format(time.RFC3339Nano)
}
