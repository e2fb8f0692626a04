package processors

import (
	"bytes"
	"errors"
	"regexp"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/fielderr"
)

// dropStep drops the events its condition holds for (DropConfig).
type dropStep struct {
	cond condition
}

// condition is a compiled Condition.
type condition struct {
	field    string
	equals   []byte
	contains []byte
	regex    *regexp.Regexp
	exists   *bool
}

func newDrop(c *DropConfig) (step, error) {
	cond, err := compileCondition(&c.If)
	if err != nil {
		return nil, fielderr.Prefix("if", err)
	}
	return &dropStep{cond: cond}, nil
}

func compileCondition(c *Condition) (condition, error) {
	cond := condition{field: c.Field, exists: c.Exists, contains: []byte(c.Contains)}
	if cond.field == "" {
		cond.field = defaultField
	}
	n := 0
	if c.Equals != nil {
		cond.equals = []byte(*c.Equals)
		n++
	}
	if c.Contains != "" {
		n++
	}
	if c.Regex != "" {
		re, err := regexp.Compile(c.Regex)
		if err != nil {
			return condition{}, fielderr.New("regex", "%v", err)
		}
		cond.regex = re
		n++
	}
	if c.Exists != nil {
		n++
	}
	if n != 1 {
		return condition{}, errors.New("set exactly one test: equals, contains, regex or exists")
	}
	return cond, nil
}

// holds tests the condition on the event's fields. A missing field fails every test but exists: false.
func (c *condition) holds(f *fieldSet) bool {
	if c.exists != nil {
		return f.exists(c.field) == *c.exists
	}
	val, ok := f.text(c.field)
	if !ok {
		return false
	}
	switch {
	case c.equals != nil:
		return bytes.Equal(val, c.equals)
	case c.regex != nil:
		return c.regex.Match(val)
	default:
		return bytes.Contains(val, c.contains)
	}
}

func (d *dropStep) run(s *scratch, ev *engine.Event) (bool, error) {
	return !d.cond.holds(&s.fields), nil
}
