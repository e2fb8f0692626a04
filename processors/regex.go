package processors

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// parseRegex sets a field per named group of an RE2 pattern that took part in the match. The pattern is not
// anchored: use ^ and $ to match whole values.
type parseRegex struct {
	re *regexp.Regexp
	// keys holds the field name of each group, "" for an unnamed one, indexed like the match's submatches.
	keys []string
}

// NewRegex compiles an RE2 pattern with at least one named group. Go's group names cannot hold a dot, so `__`
// in a name stands for one: (?P<http__version>...) sets http.version.
func NewRegex(pattern string) (Parser, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("parse_regex pattern: %w", err)
	}
	p := &parseRegex{re: re, keys: make([]string, re.NumSubexp()+1)}
	named := 0
	for i, name := range re.SubexpNames() {
		if name == "" {
			continue
		}
		key := strings.ReplaceAll(name, "__", ".")
		if strings.HasPrefix(key, ".") || strings.HasSuffix(key, ".") || strings.Contains(key, "..") {
			return nil, fmt.Errorf("parse_regex pattern: group %q makes the field name %q: a __ (a dot) must stand between two parts of the name", name, key)
		}
		p.keys[i] = key
		named++
	}
	if named == 0 {
		return nil, errors.New("parse_regex pattern: no named group: name what to keep, as in (?P<user__name>\\S+) for user.name")
	}
	return p, nil
}

func (p *parseRegex) Parse(val []byte, out Setter) error {
	m := p.re.FindSubmatchIndex(val)
	if m == nil {
		return errors.New("the value does not match the pattern")
	}
	for i, key := range p.keys {
		if key == "" || m[2*i] < 0 {
			continue
		}
		out.SetString(key, val[m[2*i]:m[2*i+1]])
	}
	return nil
}
