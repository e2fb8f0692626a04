package elasticsearch

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/flickerlog/flicker/internal/timepattern"
)

// indexPattern is a parsed index setting: literal text and date fields taken from an event's @timestamp in UTC.
type indexPattern struct {
	timepattern.Pattern
}

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
			p.AddText(rest)
			break
		}
		p.AddText(rest[:start])
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
		if err := p.AddDate(layout, timepattern.Joda); err != nil {
			var tokenErr *timepattern.TokenError
			if errors.As(err, &tokenErr) {
				err = fmt.Errorf("unsupported date token %q: use yyyy, yy, MM, dd, HH, mm or ss", tokenErr.Token)
			}
			return nil, fmt.Errorf("%q: %w", s, err)
		}
	}
	if err := p.check(); err != nil {
		return nil, fmt.Errorf("%q: %w", s, err)
	}
	return p, nil
}

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

// slot identifies the name that t renders: equal slots render equal names.
func (p *indexPattern) slot(t time.Time) int64 { return p.Slot(t) }

// appendName appends the name for an event at t: date fields from t in UTC, clamped to the years @timestamp can
// show so that the two agree.
func (p *indexPattern) appendName(dst []byte, t time.Time) []byte { return p.Append(dst, t) }
