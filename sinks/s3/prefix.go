package s3out

import (
	"errors"
	"fmt"
	"strings"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/timepattern"
)

// unknownInput stands for the input name of an event whose stream has no input.
const unknownInput = "unknown"

// prefixPattern is a parsed prefix: literal text and the tokens of %{+<date>}, in pieces separated by %{input}.
type prefixPattern struct {
	pieces []timepattern.Pattern // the input name goes between two pieces
}

// prefixTokens are the date tokens a %{+...} placeholder may use.
var prefixTokens = timepattern.Tokens{
	"yyyy": timepattern.Year, "MM": timepattern.Month, "dd": timepattern.Day, "HH": timepattern.Hour,
	"mm": timepattern.Minute,
}

// parsePrefix parses a prefix pattern such as "logs/%{input}/%{+yyyy/MM/dd/HH}/". A '%' not followed by '{' is
// literal. Errors say what is wrong and where.
func parsePrefix(s string) (prefixPattern, error) {
	p := prefixPattern{pieces: make([]timepattern.Pattern, 1)}
	if strings.HasPrefix(s, "/") {
		return p, fmt.Errorf("%q starts with '/': S3 keys have no leading slash; write %q", s, strings.TrimLeft(s, "/"))
	}
	rest := s
	for {
		piece := &p.pieces[len(p.pieces)-1]
		i := strings.Index(rest, "%{")
		if i < 0 {
			piece.AddText(rest)
			return p, nil
		}
		piece.AddText(rest[:i])
		end := strings.IndexByte(rest[i:], '}')
		if end < 0 {
			return p, fmt.Errorf("%q: placeholder %q is not closed with '}'", s, rest[i:])
		}
		name := rest[i+2 : i+end]
		rest = rest[i+end+1:]
		switch {
		case name == "input":
			p.pieces = append(p.pieces, timepattern.Pattern{})
		case strings.HasPrefix(name, "+"):
			if err := addDate(piece, name[1:]); err != nil {
				return p, fmt.Errorf("%q: %%{%s}: %w", s, name, err)
			}
		default:
			return p, fmt.Errorf("%q: unknown placeholder %%{%s}; use %%{input} or a date such as %%{+yyyy/MM/dd/HH}",
				s, name)
		}
	}
}

// addDate adds the tokens of a date layout and the non-letter characters between them to piece.
func addDate(piece *timepattern.Pattern, layout string) error {
	if layout == "" {
		return errors.New("empty date pattern; use tokens yyyy, MM, dd, HH, mm")
	}
	err := piece.AddDate(layout, prefixTokens)
	var tokenErr *timepattern.TokenError
	if errors.As(err, &tokenErr) {
		return fmt.Errorf("unknown date token at %q; use yyyy, MM, dd, HH, mm (the event's time in UTC)",
			tokenErr.Layout[tokenErr.Offset:])
	}
	return err
}

// appendTo appends the prefix of ev. Like @timestamp, a time outside years 0..9999 is clamped, so a bogus time
// cannot make a bogus key.
func (p *prefixPattern) appendTo(dst []byte, ev *engine.Event) []byte {
	for i := range p.pieces {
		if i > 0 {
			if in := ev.Stream.Input; in != nil && in.Name != "" {
				dst = append(dst, in.Name...)
			} else {
				dst = append(dst, unknownInput...)
			}
		}
		dst = p.pieces[i].Append(dst, ev.Time)
	}
	return dst
}
