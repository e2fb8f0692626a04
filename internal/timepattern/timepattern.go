// Package timepattern renders names that carry a date, such as the Elasticsearch index "logs-%{+yyyy.MM.dd}" or
// the S3 prefix "%{input}/%{+yyyy/MM/dd/HH}/": literal text and date fields of an event's time in UTC, appended to
// a caller's buffer without allocating.
//
// The sinks own their setting's syntax (the %{...} placeholders, their error messages, which characters a name may
// hold); this package parses the date layout inside %{+...} and renders it. Times before year 0 or after 9999 are
// clamped to the first or last second of that range, as internal/eventjson clamps @timestamp, so that a rendered
// date and the event's @timestamp always agree.
package timepattern

import (
	"fmt"
	"time"
)

// Field is what one part of a Pattern renders.
type Field uint8

// The fields, each rendered as zero-padded digits.
const (
	Literal Field = iota // text, as written
	Year                 // four digits
	Year2                // the last two digits of the year
	Month
	Day
	Hour
	Minute
	Second
)

// Tokens maps the date tokens a setting accepts to the fields they render.
type Tokens map[string]Field

// Joda is every token this package renders, written as Joda-Time writes them (the way Beats and Logstash put dates
// in names). YYYY is Joda's year of era, the same as yyyy for every year a Pattern renders.
var Joda = Tokens{
	"yyyy": Year, "YYYY": Year, "yy": Year2, "YY": Year2,
	"MM": Month, "dd": Day, "HH": Hour, "mm": Minute, "ss": Second,
}

// TokenError reports a date token that the accepted Tokens do not have.
type TokenError struct {
	Layout string // the whole layout given to AddDate
	Offset int    // where Token starts in Layout
	Token  string
}

func (e *TokenError) Error() string { return fmt.Sprintf("unsupported date token %q", e.Token) }

// Pattern is literal text and date fields taken from a time in UTC. The zero Pattern renders nothing; build one with
// AddText and AddDate.
type Pattern struct {
	parts []part
	// span is how many seconds one rendered name lasts (86400 when the finest field is a day or coarser, 1 with
	// seconds); 0 without date fields. Unix time has no leap seconds, so floor(unix/span) identifies the name.
	span int64
}

type part struct {
	field Field
	lit   string // field == Literal
}

// spanOf is the life of a name whose finest field is f. Months and years vary in length, so they count as days.
var spanOf = [...]int64{Year: 86400, Year2: 86400, Month: 86400, Day: 86400, Hour: 3600, Minute: 60, Second: 1}

// AddText appends literal text.
func (p *Pattern) AddText(s string) {
	if s == "" {
		return
	}
	if n := len(p.parts); n > 0 && p.parts[n-1].field == Literal {
		p.parts[n-1].lit += s
		return
	}
	p.parts = append(p.parts, part{lit: s})
}

// AddDate appends the parts of a date layout such as "yyyy.MM.dd": a run of one letter is a token looked up in
// accepted, anything else is literal. An unknown token is a *TokenError; p is then partly extended and should be
// dropped.
func (p *Pattern) AddDate(layout string, accepted Tokens) error {
	for i := 0; i < len(layout); {
		j := i + 1
		if !isLetter(layout[i]) {
			for j < len(layout) && !isLetter(layout[j]) {
				j++
			}
			p.AddText(layout[i:j])
			i = j
			continue
		}
		for j < len(layout) && layout[j] == layout[i] {
			j++
		}
		f, ok := accepted[layout[i:j]]
		if !ok || f == Literal {
			return &TokenError{Layout: layout, Offset: i, Token: layout[i:j]}
		}
		p.parts = append(p.parts, part{field: f})
		if p.span == 0 || spanOf[f] < p.span {
			p.span = spanOf[f]
		}
		i = j
	}
	return nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// Dated reports whether p has date fields, that is whether what it renders depends on the time.
func (p *Pattern) Dated() bool { return p.span != 0 }

// Slot identifies the text that t renders: equal slots render equal text (the converse may not hold: a pattern with
// only a year changes slot daily). A pattern without date fields has one slot.
func (p *Pattern) Slot(t time.Time) int64 {
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

// Append appends the text for t: date fields from t in UTC, clamped to years 0-9999.
func (p *Pattern) Append(dst []byte, t time.Time) []byte {
	var year, day, hour, minute, second int
	var month time.Month
	if p.span != 0 {
		t = time.Unix(clampUnix(t), 0).UTC()
		year, month, day = t.Date()
		hour, minute, second = t.Clock()
	}
	for i := range p.parts {
		switch part := &p.parts[i]; part.field {
		case Literal:
			dst = append(dst, part.lit...)
		case Year:
			dst = appendDigits(dst, year, 4)
		case Year2:
			dst = appendDigits(dst, year%100, 2)
		case Month:
			dst = appendDigits(dst, int(month), 2)
		case Day:
			dst = appendDigits(dst, day, 2)
		case Hour:
			dst = appendDigits(dst, hour, 2)
		case Minute:
			dst = appendDigits(dst, minute, 2)
		case Second:
			dst = appendDigits(dst, second, 2)
		}
	}
	return dst
}

// Bounds of the instants a four-digit year can express, in Unix seconds: internal/eventjson clamps @timestamp to
// them, and Pattern clamps to them too, so that a rendered date and @timestamp always agree.
const (
	MinUnix = -62167219200 // 0000-01-01T00:00:00Z
	MaxUnix = 253402300799 // 9999-12-31T23:59:59Z
)

func clampUnix(t time.Time) int64 { return min(max(t.Unix(), MinUnix), MaxUnix) }

// appendDigits appends v, which is between 0 and 9999, zero-padded to width (at most 4) digits.
func appendDigits(dst []byte, v, width int) []byte {
	var buf [4]byte
	for i := width - 1; i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, buf[:width]...)
}
