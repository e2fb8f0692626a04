package processors

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // zones work on a machine without a zone database (a distroless image)
	"unsafe"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/fielderr"
	"github.com/flickerlog/flicker/internal/rfc3339"
)

// ingestedKey is where the timestamp processor keeps the read time.
const ingestedKey = "event.ingested"

// layoutKind is how a timestamp layout is parsed.
type layoutKind uint8

const (
	layoutGo layoutKind = iota
	layoutRFC3339
	layoutISO8601
	layoutUnix
)

// layout is one compiled entry of TimestampConfig.Layouts.
type layout struct {
	kind   layoutKind
	text   string // as configured
	unit   int64  // layoutUnix: nanoseconds per unit
	noYear bool   // layoutGo: the layout has no year, which the read time gives (withYear)
}

// namedLayouts are the layout names, matched without regard to case.
var namedLayouts = []layout{
	{kind: layoutRFC3339, text: "RFC3339"},
	{kind: layoutRFC3339, text: "RFC3339Nano"},
	{kind: layoutISO8601, text: "ISO8601"},
	{kind: layoutUnix, text: "UNIX", unit: 1e9},
	{kind: layoutUnix, text: "UNIX_MS", unit: 1e6},
	{kind: layoutUnix, text: "UNIX_US", unit: 1e3},
	{kind: layoutUnix, text: "UNIX_NS", unit: 1},
}

const layoutHelp = "a Go layout writing the reference time Mon Jan 2 15:04:05 MST 2006 as the log does " +
	"(02/Jan/2006:15:04:05 -0700), or one of RFC3339, RFC3339Nano, ISO8601, UNIX, UNIX_MS, UNIX_US, UNIX_NS"

// compileLayout checks one configured layout.
func compileLayout(text string) (layout, error) {
	for _, l := range namedLayouts {
		if strings.EqualFold(text, l.text) {
			return l, nil
		}
	}
	// Any time but the reference one: a layout without elements formats as itself.
	sample := time.Date(2017, 11, 28, 21, 31, 47, 987654321, time.FixedZone("IRST", 12600)).Format(text)
	if sample == text {
		return layout{}, fmt.Errorf("%q is no layout: use %s", text, layoutHelp)
	}
	back, err := time.Parse(text, sample)
	if err != nil {
		return layout{}, fmt.Errorf("%q cannot be parsed back (%v): use %s", text, err, layoutHelp)
	}
	return layout{kind: layoutGo, text: text, noYear: back.Year() == 0}, nil
}

// timestampStep sets the event's time from a field (TimestampConfig).
type timestampStep struct {
	field         string
	layouts       []layout
	loc           *time.Location
	remove        bool
	ignoreMissing bool
	slot          int // this step's index in scratch.times
}

// timeCache is a timestamp step's state kept between events in a scratch.
type timeCache struct {
	rfc rfc3339.Cache
	// The last value a layout parsed, and its time (unless the layout has no year, whose time depends on the
	// read time): a log's consecutive lines mostly share their second, which a layout without fractions writes
	// the same.
	lastVal  []byte
	lastTime time.Time
}

func newTimestamp(c *TimestampConfig) (step, error) {
	var errs []error
	s := &timestampStep{field: c.Field, remove: c.Remove, ignoreMissing: c.IgnoreMissing, loc: time.UTC}
	if s.field == "" {
		errs = append(errs, fielderr.New("field", "set the field that holds the event's time"))
	}
	if len(c.Layouts) == 0 {
		errs = append(errs, fielderr.New("layouts", "list at least one layout: %s", layoutHelp))
	}
	for i, text := range c.Layouts {
		l, err := compileLayout(text)
		if err != nil {
			errs = append(errs, fielderr.New(fmt.Sprintf("layouts[%d]", i), "%v", err))
			continue
		}
		s.layouts = append(s.layouts, l)
	}
	if c.Timezone != "" {
		loc, err := time.LoadLocation(c.Timezone)
		if err != nil {
			errs = append(errs, fielderr.New("timezone",
				"unknown time zone %q: use an IANA name such as Europe/Paris, or UTC", c.Timezone))
		} else {
			s.loc = loc
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

func (t *timestampStep) run(s *scratch, ev *engine.Event) (bool, error) {
	f := &s.fields
	// A field found as one entry is removed as that entry: a live entry has none under it (fieldSet).
	at := f.lookup(t.field)
	var val []byte
	ok := at >= 0
	if ok {
		val = f.entryText(at)
	} else {
		val, ok = f.text(t.field)
	}
	if !ok {
		if t.ignoreMissing {
			return true, nil
		}
		return true, &errMissing{field: t.field}
	}
	// The same text gives the same time: the first layout that parses it is the same one.
	cache := &s.times[t.slot]
	tm, ok := cache.lastTime, len(cache.lastVal) > 0 && bytes.Equal(val, cache.lastVal)
	for i := 0; !ok && i < len(t.layouts); i++ {
		l := &t.layouts[i]
		if tm, ok = l.parse(val, t.loc, s.readTime, cache); ok && !l.noYear {
			cache.lastVal, cache.lastTime = append(cache.lastVal[:0], val...), tm
		}
	}
	if !ok {
		return true, t.noMatch(val)
	}
	ev.Time = tm
	s.buf = s.ingested.append(s.buf[:0], s.readTime)
	f.SetString(ingestedKey, s.buf)
	switch {
	case !t.remove:
	case at >= 0 && f.entries[at].kind != kindGone: // setting event.ingested left it, and put nothing under it
		f.remove(at)
	default:
		f.delete(t.field)
	}
	return true, nil
}

// noMatch is the error for a value no layout parses.
func (t *timestampStep) noMatch(val []byte) error {
	const maxShown = 64
	shown := string(val)
	if len(shown) > maxShown {
		shown = shown[:maxShown] + "..."
	}
	names := make([]string, len(t.layouts))
	for i, l := range t.layouts {
		names[i] = l.text
	}
	return fmt.Errorf("%q matches none of the layouts %s", shown, strings.Join(names, ", "))
}

// parse reads val with the layout; the time is in UTC. Times without a zone are in loc; times without a year
// take one from now, the read time, unless it is zero.
func (l *layout) parse(val []byte, loc *time.Location, now time.Time, cache *timeCache) (time.Time, bool) {
	switch l.kind {
	case layoutRFC3339:
		t, err := cache.rfc.Parse(val)
		return t, err == nil
	case layoutISO8601:
		return parseISO8601(val, loc)
	case layoutUnix:
		return parseUnix(val, l.unit)
	}
	if len(val) == 0 {
		return time.Time{}, false
	}
	// The string is only read during the call: the result is taken in UTC, so it keeps no zone name that
	// could point into val.
	t, err := time.ParseInLocation(l.text, unsafe.String(&val[0], len(val)), loc)
	if err != nil {
		return time.Time{}, false
	}
	if t.Year() == 0 && !now.IsZero() {
		t = withYear(t, now)
	}
	return t.UTC(), true
}

// withYear gives t, parsed with a layout without a year (syslog's "Jan _2 15:04:05"), the year of now, the
// time the event was read; or the latest year before it in which the date exists (Feb 29) and that does not put
// it more than a day after now (a December line read in January).
func withYear(t, now time.Time) time.Time {
	ahead := now.Add(24 * time.Hour)
	year := now.In(t.Location()).Year()
	for k := 0; k < 8; k++ { // a Feb 29 exists within 8 years
		y := time.Date(year-k, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
		if y.Day() == t.Day() && !y.After(ahead) {
			return y
		}
	}
	return time.Date(year, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
}

// parseUnix reads a count of units since the Unix epoch: an integer or a decimal, optionally negative, or a
// JSON number with an exponent (read as a float, to within its precision).
func parseUnix(val []byte, unit int64) (time.Time, bool) {
	i, neg := 0, false
	if len(val) > 0 && val[0] == '-' {
		neg, i = true, 1
	}
	var whole int64
	digits := 0
	for ; i < len(val) && isDigit(val[i]); i++ {
		if whole > (math.MaxInt64-9)/10 {
			return time.Time{}, false
		}
		whole = whole*10 + int64(val[i]-'0')
		digits++
	}
	var frac int64 // nanoseconds
	if i < len(val) && val[i] == '.' {
		i++
		scale := unit / 10
		fd := 0
		for ; i < len(val) && isDigit(val[i]); i++ {
			frac += int64(val[i]-'0') * scale
			scale /= 10
			fd++
		}
		if fd == 0 {
			return time.Time{}, false
		}
	}
	if digits == 0 {
		return time.Time{}, false
	}
	if i < len(val) {
		if val[i] != 'e' && val[i] != 'E' {
			return time.Time{}, false
		}
		return parseUnixFloat(val, unit)
	}
	// Unix seconds fit an int64 of nanoseconds up to year 2262; time.Unix takes the rest apart.
	sec, rem := whole/(int64(time.Second)/unit), whole%(int64(time.Second)/unit)
	nsec := rem*unit + frac
	if neg {
		sec, nsec = -sec, -nsec
	}
	return time.Unix(sec, nsec).UTC(), true
}

// parseUnixFloat reads a Unix time written with an exponent.
func parseUnixFloat(val []byte, unit int64) (time.Time, bool) {
	v, err := strconv.ParseFloat(unsafe.String(&val[0], len(val)), 64)
	if err != nil {
		return time.Time{}, false
	}
	secs := v * float64(unit) / float64(time.Second)
	if math.IsNaN(secs) || secs > 1<<62 || secs < -(1<<62) {
		return time.Time{}, false
	}
	whole := math.Floor(secs)
	return time.Unix(int64(whole), int64((secs-whole)*1e9)).UTC(), true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseISO8601 reads YYYY-MM-DD[T| ]hh:mm[:ss[(.|,)fraction]][Z|±hh[:mm]|±hhmm]; a time without a zone is in
// loc.
func parseISO8601(b []byte, loc *time.Location) (time.Time, bool) {
	const fixed = "dddd-dd-ddTdd:dd"
	if len(b) < len(fixed) {
		return time.Time{}, false
	}
	for i := range len(fixed) {
		c, want := b[i], fixed[i]
		switch want {
		case 'd':
			if !isDigit(c) {
				return time.Time{}, false
			}
		case 'T':
			if c != 'T' && c != 't' && c != ' ' {
				return time.Time{}, false
			}
		default:
			if c != want {
				return time.Time{}, false
			}
		}
	}
	year := num(b[0:4])
	month, day, hour, minute := num(b[5:7]), num(b[8:10]), num(b[11:13]), num(b[14:16])
	sec, nsec := 0, 0
	i := len(fixed)
	if i+2 < len(b) && b[i] == ':' && isDigit(b[i+1]) && isDigit(b[i+2]) {
		sec = num(b[i+1 : i+3])
		i += 3
		if i < len(b) && (b[i] == '.' || b[i] == ',') {
			i++
			n := 0
			for ; i < len(b) && isDigit(b[i]); i++ {
				if n < 9 {
					nsec = nsec*10 + int(b[i]-'0')
				}
				n++
			}
			if n == 0 {
				return time.Time{}, false
			}
			for ; n < 9; n++ {
				nsec *= 10
			}
		}
	}
	if month < 1 || month > 12 || day < 1 || day > rfc3339.DaysIn(time.Month(month), year) || hour > 23 ||
		minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	if i == len(b) {
		return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc).UTC(), true
	}
	offset, ok := parseZone(b[i:])
	if !ok {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}

// parseZone reads Z, ±hh, ±hhmm or ±hh:mm as seconds east of UTC.
func parseZone(z []byte) (int, bool) {
	if len(z) == 1 && (z[0] == 'Z' || z[0] == 'z') {
		return 0, true
	}
	if len(z) < 3 || (z[0] != '+' && z[0] != '-') || !isDigit(z[1]) || !isDigit(z[2]) {
		return 0, false
	}
	h, m := num(z[1:3]), 0
	switch rest := z[3:]; {
	case len(rest) == 0:
	case len(rest) == 2 && isDigit(rest[0]) && isDigit(rest[1]):
		m = num(rest)
	case len(rest) == 3 && rest[0] == ':' && isDigit(rest[1]) && isDigit(rest[2]):
		m = num(rest[1:])
	default:
		return 0, false
	}
	if h > 23 || m > 59 {
		return 0, false
	}
	offset := (h*60 + m) * 60
	if z[0] == '-' {
		offset = -offset
	}
	return offset, true
}

// num reads digits already checked.
func num(b []byte) int {
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n
}

// ingestedClock formats event.ingested as time.RFC3339Nano in UTC, remembering the last second written, and the
// last time whole: the events of one read mostly share it.
type ingestedClock struct {
	sec    int64
	prefix []byte // "2006-01-02T15:04:05" of sec
	nsec   int
	last   []byte // the whole text of sec and nsec, once written
}

func (c *ingestedClock) append(dst []byte, t time.Time) []byte {
	t = t.UTC()
	sec, nsec := t.Unix(), t.Nanosecond()
	if sec == c.sec && nsec == c.nsec && len(c.last) > 0 {
		return append(dst, c.last...)
	}
	start := len(dst)
	dst = c.appendNew(dst, t)
	c.nsec, c.last = nsec, append(c.last[:0], dst[start:]...)
	return dst
}

// appendNew is append for a time other than the last.
func (c *ingestedClock) appendNew(dst []byte, t time.Time) []byte {
	if sec := t.Unix(); sec != c.sec || len(c.prefix) == 0 {
		c.sec, c.prefix = sec, t.AppendFormat(c.prefix[:0], "2006-01-02T15:04:05")
	}
	dst = append(dst, c.prefix...)
	if ns := t.Nanosecond(); ns != 0 {
		var digits [10]byte
		digits[0] = '.'
		for i := 9; i > 0; i-- {
			digits[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for digits[n-1] == '0' {
			n--
		}
		dst = append(dst, digits[:n]...)
	}
	return append(dst, 'Z')
}
