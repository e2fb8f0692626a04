package processors

import (
	"fmt"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/fielderr"
)

// defaultField is the field parsers and conditions read by default.
const defaultField = "message"

// parserStep runs a Parser over one field of the event and puts what it finds in the fields (see ParserCommon).
type parserStep struct {
	parser        Parser
	field         string
	target        string
	ignoreMissing bool
	// json is parse_json's message rule: when it parsed message and keepMessage is off, the message is replaced
	// by the object's own message member (target "") or removed.
	json, keepMessage bool
}

// newParser makes the parser of a parser kind's config.
func newParser(kind string, c *Config) (Parser, error) {
	var p Parser
	var err error
	path := "pattern"
	switch kind {
	case "parse_json":
		p = NewJSON(c.ParseJSON.MaxDepth)
	case "parse_logfmt":
		p = NewLogfmt()
	case "parse_regex":
		p, err = NewRegex(c.ParseRegex.Pattern)
	case "dissect":
		p, err = NewDissect(c.Dissect.Pattern)
	case "parse_preset":
		p, err = NewPreset(c.ParsePreset.Name)
		path = "name"
	}
	if err != nil {
		return nil, fielderr.New(path, "%v", err)
	}
	if p == nil {
		return nil, fmt.Errorf("%s is not available in this build", kind)
	}
	return p, nil
}

func newParserStep(kind string, common ParserCommon, c *Config, parsers parserFactory, keepMessage bool) (step, error) {
	p, err := parsers(kind, c)
	if err != nil {
		return nil, err
	}
	s := &parserStep{parser: p, field: common.Field, target: common.Target, ignoreMissing: common.IgnoreMissing,
		json: kind == "parse_json", keepMessage: keepMessage}
	if s.field == "" {
		s.field = defaultField
	}
	return s, nil
}

// errMissing is a processor's error for an event without the field it reads.
type errMissing struct{ field string }

func (e *errMissing) Error() string {
	return fmt.Sprintf("field %q is missing (set ignore_missing: true to pass such events unchanged)", e.field)
}

func (p *parserStep) run(s *scratch, ev *engine.Event) (bool, error) {
	f := &s.fields
	val, ok := f.text(p.field)
	if !ok {
		if p.ignoreMissing {
			return true, nil
		}
		return true, &errMissing{field: p.field}
	}
	entries, journal := f.mark()
	msg := -1
	if p.json && !p.keepMessage && p.field == defaultField {
		msg = f.find(defaultField)
	}
	var out Setter = f
	if p.target != "" {
		s.target = targetSetter{f: f, target: p.target}
		out = &s.target
	}
	f.input = val
	err := p.parser.Parse(val, out)
	f.input = nil
	if err == nil {
		err = f.refused // the parser set more than the set takes: the line stays unparsed
	}
	if err != nil {
		f.refused = nil
		f.undo(entries, journal)
		return true, err
	}
	// The object's own message member, set at the top level, has replaced the message already.
	if msg >= 0 && f.entries[msg].kind != kindGone {
		f.remove(msg)
	}
	if f.source != nil && f.shadowsSource(entries) {
		f.restoreSource(entries) // the line's fields only fill the gaps of the source's
	}
	return true, nil
}

// targetSetter is a Setter that puts every key under a target field.
type targetSetter struct {
	f      *fieldSet
	target string
}

func (t *targetSetter) SetString(key string, val []byte) {
	t.f.put(t.f.appendKey(t.target, key), t.f.copyVal(val), kindString)
}

func (t *targetSetter) SetRaw(key string, raw []byte) {
	t.f.put(t.f.appendKey(t.target, key), t.f.copyVal(raw), kindRaw)
}
