package config

import (
	"errors"
	"reflect"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// text returns the expanded text of scalar n.
func (d *decoder) text(n, pos *yaml.Node, path, want string) (string, bool) {
	if !d.expectKind(n, pos, yaml.ScalarNode, path, want) {
		return "", false
	}
	s, err := expand(n.Value, d.lookup)
	if err != nil {
		d.valueError(pos, path, "%v", err)
		return "", false
	}
	return s, true
}

// scalar decodes a string, bool or integer. The text decides, not the YAML tag: after expansion "${N}" may
// be a number, and a quoted "10" is accepted where a number is expected.
func (d *decoder) scalar(n, pos *yaml.Node, v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.String:
		if s, ok := d.text(n, pos, path, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		s, ok := d.text(n, pos, path, "true or false")
		if !ok {
			return
		}
		switch s {
		case "true", "True", "TRUE":
			v.SetBool(true)
		case "false", "False", "FALSE":
			v.SetBool(false)
		default:
			d.valueError(pos, path, "expected true or false, got %s", quote(s))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s, ok := d.text(n, pos, path, "an integer")
		if !ok {
			return
		}
		i, err := strconv.ParseInt(s, 10, v.Type().Bits())
		switch {
		case errors.Is(err, strconv.ErrRange):
			d.valueError(pos, path, "integer %s is out of range", quote(s))
		case err != nil:
			d.valueError(pos, path, "expected an integer, got %s", quote(s))
		default:
			v.SetInt(i)
		}
	default:
		d.valueError(pos, path, "cannot decode into %s (a bug in flicker)", v.Type())
	}
}

func (d *decoder) duration(n, pos *yaml.Node, v reflect.Value, path string) {
	const want = `a duration such as "5s" or "200ms"`
	s, ok := d.text(n, pos, path, want)
	if !ok {
		return
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		d.valueError(pos, path, "expected %s, got %s", want, quote(s))
		return
	}
	v.SetInt(int64(dur))
}

// describe names what a node holds, for "expected X, got Y".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		return quote(n.Value)
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return "something else"
	}
}

// quote quotes a value for a message, shortened so that a long value does not bury the message.
func quote(s string) string {
	const limit = 60
	if len(s) > limit {
		return strconv.Quote(s[:limit]) + "..."
	}
	return strconv.Quote(s)
}
