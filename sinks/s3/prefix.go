package s3out

import (
	"errors"
	"fmt"
	"strings"

	"github.com/flickerlog/flicker/engine"
)

// unknownInput stands for the input name of an event whose stream has no input.
const unknownInput = "unknown"

// segKind is what one piece of a prefix pattern renders.
type segKind uint8

const (
	segLiteral segKind = iota
	segInput
	segYear
	segMonth
	segDay
	segHour
	segMinute
)

type segment struct {
	kind segKind
	lit  string // segLiteral
}

// prefixPattern is a parsed prefix: literal text, %{input} and the tokens of %{+<date>}.
type prefixPattern struct {
	segs  []segment
	dated bool // has date tokens: the event's time is needed
}

// dateTokens are the date tokens a %{+...} placeholder may use, longest first.
var dateTokens = []struct {
	token string
	kind  segKind
}{{"yyyy", segYear}, {"MM", segMonth}, {"dd", segDay}, {"HH", segHour}, {"mm", segMinute}}

// parsePrefix parses a prefix pattern such as "logs/%{input}/%{+yyyy/MM/dd/HH}/". A '%' not followed by '{' is
// literal. Errors say what is wrong and where.
func parsePrefix(s string) (prefixPattern, error) {
	var p prefixPattern
	if strings.HasPrefix(s, "/") {
		return p, fmt.Errorf("%q starts with '/': S3 keys have no leading slash; write %q", s, strings.TrimLeft(s, "/"))
	}
	lit := func(text string) {
		if text == "" {
			return
		}
		if n := len(p.segs); n > 0 && p.segs[n-1].kind == segLiteral {
			p.segs[n-1].lit += text
			return
		}
		p.segs = append(p.segs, segment{kind: segLiteral, lit: text})
	}
	rest := s
	for {
		i := strings.Index(rest, "%{")
		if i < 0 {
			lit(rest)
			return p, nil
		}
		lit(rest[:i])
		end := strings.IndexByte(rest[i:], '}')
		if end < 0 {
			return p, fmt.Errorf("%q: placeholder %q is not closed with '}'", s, rest[i:])
		}
		name := rest[i+2 : i+end]
		rest = rest[i+end+1:]
		switch {
		case name == "input":
			p.segs = append(p.segs, segment{kind: segInput})
		case strings.HasPrefix(name, "+"):
			if err := p.parseDate(name[1:], lit); err != nil {
				return p, fmt.Errorf("%q: %%{%s}: %w", s, name, err)
			}
		default:
			return p, fmt.Errorf("%q: unknown placeholder %%{%s}; use %%{input} or a date such as %%{+yyyy/MM/dd/HH}",
				s, name)
		}
	}
}

// parseDate adds the segments of a date pattern: tokens and the non-letter characters between them.
func (p *prefixPattern) parseDate(pattern string, lit func(string)) error {
	if pattern == "" {
		return errors.New("empty date pattern; use tokens yyyy, MM, dd, HH, mm")
	}
next:
	for pattern != "" {
		for _, t := range dateTokens {
			if strings.HasPrefix(pattern, t.token) {
				p.segs = append(p.segs, segment{kind: t.kind})
				p.dated = true
				pattern = pattern[len(t.token):]
				continue next
			}
		}
		c := pattern[0]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			return fmt.Errorf("unknown date token at %q; use yyyy, MM, dd, HH, mm (the event's time in UTC)", pattern)
		}
		lit(pattern[:1])
		pattern = pattern[1:]
	}
	return nil
}

// appendTo appends the prefix of ev.
func (p *prefixPattern) appendTo(dst []byte, ev *engine.Event) []byte {
	var year, month, day, hour, minute int
	if p.dated {
		t := ev.Time.UTC()
		y, mo, d := t.Date()
		h, mi, _ := t.Clock()
		// Like @timestamp, a year outside 0..9999 is clamped, so a bogus time cannot make a bogus key.
		year, month, day, hour, minute = min(max(y, 0), 9999), int(mo), d, h, mi
	}
	for i := range p.segs {
		seg := &p.segs[i]
		switch seg.kind {
		case segLiteral:
			dst = append(dst, seg.lit...)
		case segInput:
			if in := ev.Stream.Input; in != nil && in.Name != "" {
				dst = append(dst, in.Name...)
			} else {
				dst = append(dst, unknownInput...)
			}
		case segYear:
			dst = appendDigits(dst, year, 4)
		case segMonth:
			dst = appendDigits(dst, month, 2)
		case segDay:
			dst = appendDigits(dst, day, 2)
		case segHour:
			dst = appendDigits(dst, hour, 2)
		case segMinute:
			dst = appendDigits(dst, minute, 2)
		}
	}
	return dst
}

// appendDigits appends v (0 <= v < 10^8), zero-padded to width digits.
func appendDigits(dst []byte, v, width int) []byte {
	var buf [8]byte
	i := len(buf)
	for v > 0 || i > len(buf)-width {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, buf[i:]...)
}
