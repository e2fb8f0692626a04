package oktatest

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/flickerlog/flicker/sources/api/internal/emulator"
)

// predicate tells whether an event's attributes match a filter.
type predicate func(attrs map[string][]string) bool

// token is one lexeme of a SCIM filter; pos is its byte offset, as in Okta's error messages.
type token struct {
	text   string
	quoted bool
	pos    int
}

// parseFilter compiles the SCIM filter subset that the System Log accepts.
func parseFilter(filter string) (predicate, *emulator.Error) {
	toks, problem := lexFilter(filter)
	if problem != "" {
		return nil, invalidFilter(filter, problem)
	}
	p := &filterParser{filter: filter, toks: toks}
	pred, apiErr := p.or()
	if apiErr != nil {
		return nil, apiErr
	}
	if p.i < len(p.toks) {
		t := p.toks[p.i]
		return nil, invalidFilter(filter, fmt.Sprintf("Unexpected token '%s' at position %d.", t.text, t.pos))
	}
	return pred, nil
}

// lexFilter splits a filter into tokens; problem describes why it cannot.
func lexFilter(s string) (toks []token, problem string) {
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')':
			toks = append(toks, token{text: string(c), pos: i})
			i++
		case c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Sprintf("Unterminated string at position %d.", i)
			}
			toks = append(toks, token{text: b.String(), quoted: true, pos: i})
			i = j + 1
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '\t' && s[j] != '(' && s[j] != ')' && s[j] != '"' {
				j++
			}
			toks = append(toks, token{text: s[i:j], pos: i})
			i = j
		}
	}
	return toks, ""
}

type filterParser struct {
	filter string
	toks   []token
	i      int
}

func (p *filterParser) peekWord(w string) bool {
	return p.i < len(p.toks) && !p.toks[p.i].quoted && strings.EqualFold(p.toks[p.i].text, w)
}

func (p *filterParser) unexpected() *emulator.Error {
	if p.i >= len(p.toks) {
		return invalidFilter(p.filter, fmt.Sprintf("Unexpected end of filter at position %d.", len(p.filter)))
	}
	t := p.toks[p.i]
	return invalidFilter(p.filter, fmt.Sprintf("Unexpected token '%s' at position %d.", t.text, t.pos))
}

func (p *filterParser) or() (predicate, *emulator.Error) {
	left, err := p.and()
	for err == nil && p.peekWord("or") {
		p.i++
		var right predicate
		if right, err = p.and(); err == nil {
			l := left
			left = func(a map[string][]string) bool { return l(a) || right(a) }
		}
	}
	return left, err
}

func (p *filterParser) and() (predicate, *emulator.Error) {
	left, err := p.unary()
	for err == nil && p.peekWord("and") {
		p.i++
		var right predicate
		if right, err = p.unary(); err == nil {
			l := left
			left = func(a map[string][]string) bool { return l(a) && right(a) }
		}
	}
	return left, err
}

func (p *filterParser) unary() (predicate, *emulator.Error) {
	if p.peekWord("not") {
		p.i++
		inner, err := p.unary()
		if err != nil {
			return nil, err
		}
		return func(a map[string][]string) bool { return !inner(a) }, nil
	}
	if p.i < len(p.toks) && p.toks[p.i].text == "(" && !p.toks[p.i].quoted {
		p.i++
		inner, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.i >= len(p.toks) || p.toks[p.i].text != ")" {
			return nil, p.unexpected()
		}
		p.i++
		return inner, nil
	}
	return p.comparison()
}

func (p *filterParser) comparison() (predicate, *emulator.Error) {
	if p.i >= len(p.toks) || p.toks[p.i].quoted || p.toks[p.i].text == ")" {
		return nil, p.unexpected()
	}
	attr := p.toks[p.i].text
	p.i++
	if attr == "published" {
		return nil, invalidFilter(p.filter, "published cannot be filtered on; use the since and until parameters.")
	}
	if p.i >= len(p.toks) {
		return nil, p.unexpected()
	}
	opTok := p.toks[p.i]
	op := strings.ToLower(opTok.text)
	p.i++
	if op == "pr" {
		return func(a map[string][]string) bool { return len(a[attr]) > 0 }, nil
	}
	switch op {
	case "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le":
	default:
		return nil, invalidFilter(p.filter, fmt.Sprintf(
			"Unrecognized attribute operator '%s' at position %d. Expected: eq,co,sw,pr,gt,ge,lt,le", opTok.text, opTok.pos))
	}
	if op == "co" && (attr == "debugContext.debugData.url" || attr == "debugContext.debugData.requestUri") {
		return nil, &emulator.Error{Status: 400, Code: "E0000031",
			Message: "The supplied combination of operator and field is not currently supported. Contact support " +
				"for help in constructing a new combination."}
	}
	if p.i >= len(p.toks) || p.toks[p.i].text == ")" && !p.toks[p.i].quoted {
		return nil, p.unexpected()
	}
	vt := p.toks[p.i]
	p.i++
	if !vt.quoted && vt.text != "true" && vt.text != "false" && vt.text != "null" {
		if _, err := strconv.ParseFloat(vt.text, 64); err != nil {
			return nil, invalidFilter(p.filter, fmt.Sprintf("Invalid value '%s' at position %d.", vt.text, vt.pos))
		}
	}
	want := vt.text
	match := compare(op, want)
	if op == "ne" {
		eq := compare("eq", want)
		return func(a map[string][]string) bool {
			for _, v := range a[attr] {
				if eq(v) {
					return false
				}
			}
			return true
		}, nil
	}
	return func(a map[string][]string) bool {
		for _, v := range a[attr] {
			if match(v) {
				return true
			}
		}
		return false
	}, nil
}

// compare returns the test of one attribute value against want.
func compare(op, want string) func(string) bool {
	switch op {
	case "eq":
		return func(v string) bool { return v == want }
	case "co":
		return func(v string) bool { return strings.Contains(v, want) }
	case "sw":
		return func(v string) bool { return strings.HasPrefix(v, want) }
	case "ew":
		return func(v string) bool { return strings.HasSuffix(v, want) }
	}
	return func(v string) bool {
		c := strings.Compare(v, want)
		if a, errA := strconv.ParseFloat(v, 64); errA == nil {
			if b, errB := strconv.ParseFloat(want, 64); errB == nil {
				c = 0
				if a < b {
					c = -1
				} else if a > b {
					c = 1
				}
			}
		}
		switch op {
		case "gt":
			return c > 0
		case "ge":
			return c >= 0
		case "lt":
			return c < 0
		}
		return c <= 0 // le
	}
}

// parseQ compiles q: case-insensitive exact keywords, all of which must match; hyphenated values are split.
func parseQ(q string) (predicate, *emulator.Error) {
	words := strings.Fields(q)
	if len(words) > 10 {
		return nil, validationError("q", "Freeform search cannot contain more than 10 items")
	}
	var want []string
	for _, w := range words {
		if len(w) > 40 {
			return nil, validationError("q", "Freeform search cannot contain items longer than 40 characters")
		}
		want = append(want, keywords(w)...)
	}
	return func(a map[string][]string) bool {
		have := make(map[string]bool)
		for _, vs := range a {
			for _, v := range vs {
				for _, k := range keywords(v) {
					have[k] = true
				}
			}
		}
		for _, w := range want {
			if !have[w] {
				return false
			}
		}
		return true
	}, nil
}

// keywords splits a value the way q matches it: lower-cased words, split at spaces and hyphens.
func keywords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return r == ' ' || r == '-' || r == '\t' })
}
