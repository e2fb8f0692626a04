package elasticsearch

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// indexPattern is a parsed index setting: literal text and date fields taken from an event's @timestamp in UTC.
type indexPattern struct {
	parts []indexPart
	// span is how many seconds one rendered name lasts (86400 for a daily index, 1 for a pattern with seconds);
	// 0 for a fixed name. UTC has no leap seconds in Unix time, so floor(unix/span) identifies the name.
	span int64
}

// indexPart is literal text (field == fieldNone) or one date field.
type indexPart struct {
	lit   string
	field dateField
}

type dateField uint8

const (
	fieldNone dateField = iota
	fieldYear4
	fieldYear2
	fieldMonth
	fieldDay
	fieldHour
	fieldMinute
	fieldSecond
)

// dateTokens are the supported Joda-style tokens (Beats and Logstash write dates in index names this way).
// YYYY is Joda's year of era, the same as yyyy for every year flicker can render.
var dateTokens = map[string]dateField{
	"yyyy": fieldYear4, "YYYY": fieldYear4, "yy": fieldYear2, "YY": fieldYear2,
	"MM": fieldMonth, "dd": fieldDay, "HH": fieldHour, "mm": fieldMinute, "ss": fieldSecond,
}

// spanOf is the life of a name whose finest field is f.
var spanOf = [...]int64{fieldYear4: 86400, fieldYear2: 86400, fieldMonth: 86400, fieldDay: 86400,
	fieldHour: 3600, fieldMinute: 60, fieldSecond: 1}

// maxIndexNameBytes is Elasticsearch's limit on an index name.
const maxIndexNameBytes = 255

// parseIndex parses an index setting such as "logs-%{+yyyy.MM.dd}" and checks that every name it can render is a
// valid index name (lower case, none of the characters Elasticsearch forbids).
func parseIndex(s string) (*indexPattern, error) {
	if s == "" {
		return nil, errors.New("required: an index, alias or data stream name, e.g. logs-%{+yyyy.MM.dd}")
	}
	p := &indexPattern{}
	rest := s
	for rest != "" {
		start := strings.Index(rest, "%{")
		if start < 0 {
			p.parts = append(p.parts, indexPart{lit: rest})
			break
		}
		if start > 0 {
			p.parts = append(p.parts, indexPart{lit: rest[:start]})
		}
		end := strings.IndexByte(rest[start:], '}')
		if end < 0 {
			return nil, fmt.Errorf("%q: unterminated %%{ placeholder", s)
		}
		inner := rest[start+2 : start+end]
		rest = rest[start+end+1:]
		layout, ok := strings.CutPrefix(inner, "+")
		if !ok || layout == "" {
			return nil, fmt.Errorf("%q: unsupported placeholder %%{%s}: only dates such as %%{+yyyy.MM.dd} are", s, inner)
		}
		if err := p.parseLayout(layout); err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
	}
	if err := p.check(); err != nil {
		return nil, fmt.Errorf("%q: %w", s, err)
	}
	return p, nil
}

// parseLayout adds the parts of a date layout: runs of one letter are fields, anything else is literal.
func (p *indexPattern) parseLayout(layout string) error {
	for i := 0; i < len(layout); {
		c := layout[i]
		if !isLetter(c) {
			j := i
			for j < len(layout) && !isLetter(layout[j]) {
				j++
			}
			p.parts = append(p.parts, indexPart{lit: layout[i:j]})
			i = j
			continue
		}
		j := i
		for j < len(layout) && layout[j] == c {
			j++
		}
		tok := layout[i:j]
		f, ok := dateTokens[tok]
		if !ok {
			return fmt.Errorf("unsupported date token %q: use yyyy, yy, MM, dd, HH, mm or ss", tok)
		}
		p.parts = append(p.parts, indexPart{field: f})
		if p.span == 0 || spanOf[f] < p.span {
			p.span = spanOf[f]
		}
		i = j
	}
	return nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// check applies Elasticsearch's index name rules to the literal parts; date fields render digits only.
func (p *indexPattern) check() error {
	sample := string(p.appendName(nil, time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC)))
	switch {
	case sample == "." || sample == "..":
		return errors.New(`an index cannot be named "." or ".."`)
	case strings.ContainsAny(sample[:1], "-_+"):
		return errors.New("an index name cannot start with -, _ or +")
	case len(sample) > maxIndexNameBytes:
		return fmt.Errorf("index names are limited to %d bytes", maxIndexNameBytes)
	case strings.ToLower(sample) != sample:
		return errors.New("index names must be lower case")
	}
	if i := strings.IndexAny(sample, "\\/*?\"<>| ,#:"); i >= 0 {
		return fmt.Errorf("index names cannot contain %q", sample[i:i+1])
	}
	for _, r := range sample {
		if r < 0x20 || r == 0x7f {
			return errors.New("index names cannot contain control characters")
		}
	}
	return nil
}

// fixed reports whether the pattern has no date fields.
func (p *indexPattern) fixed() bool { return p.span == 0 }

// slot identifies the name that t renders: equal slots render equal names.
func (p *indexPattern) slot(t time.Time) int64 {
	if p.span == 0 {
		return 0
	}
	u := clampUnix(t)
	q := u / p.span
	if u%p.span < 0 {
		q-- // floor, for times before 1970
	}
	return q
}

// appendName appends the name for an event at t: date fields from t in UTC.
func (p *indexPattern) appendName(dst []byte, t time.Time) []byte {
	var year, day, hour, minute, second int
	var month time.Month
	if !p.fixed() {
		t = time.Unix(clampUnix(t), 0).UTC()
		year, month, day = t.Date()
		hour, minute, second = t.Clock()
	}
	for _, part := range p.parts {
		switch part.field {
		case fieldNone:
			dst = append(dst, part.lit...)
		case fieldYear4:
			dst = appendDigits(dst, year, 4)
		case fieldYear2:
			dst = appendDigits(dst, year%100, 2)
		case fieldMonth:
			dst = appendDigits(dst, int(month), 2)
		case fieldDay:
			dst = appendDigits(dst, day, 2)
		case fieldHour:
			dst = appendDigits(dst, hour, 2)
		case fieldMinute:
			dst = appendDigits(dst, minute, 2)
		case fieldSecond:
			dst = appendDigits(dst, second, 2)
		}
	}
	return dst
}

// Bounds of the instants a four-digit year can express, in Unix seconds: @timestamp clamps to them, and so does
// the index name, so that the two always agree.
const (
	minUnix = -62167219200 // 0000-01-01T00:00:00Z
	maxUnix = 253402300799 // 9999-12-31T23:59:59Z
)

func clampUnix(t time.Time) int64 { return min(max(t.Unix(), minUnix), maxUnix) }

// appendDigits appends v, which is not negative, zero-padded to width digits.
func appendDigits(dst []byte, v, width int) []byte {
	var buf [4]byte
	for i := width - 1; i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, buf[:width]...)
}
