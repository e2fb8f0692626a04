package config

import (
	"fmt"
	"strings"
)

// expand replaces ${VAR} and ${VAR:-default} in s with values from lookup and $$ with a literal $. As in the
// shell, the default is used when VAR is unset or empty. What is inserted (a variable's value or a default) is
// never expanded again, so a value from the environment that contains "${" stays as it is. A $ followed by
// anything else is kept.
func expand(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' || i+1 == len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i += 2
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", fmt.Errorf(`unterminated "${" (write "$$" for a literal "$")`)
			}
			value, err := substitute(s[i+2:i+2+end], lookup)
			if err != nil {
				return "", err
			}
			b.WriteString(value)
			i += 2 + end + 1
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

// substitute resolves the text between "${" and "}": "VAR" or "VAR:-default".
func substitute(expr string, lookup func(string) (string, bool)) (string, error) {
	name, def, hasDefault := strings.Cut(expr, ":-")
	if !validVarName(name) {
		return "", fmt.Errorf(`invalid variable reference "${%s}": expected ${NAME} or ${NAME:-default}`, expr)
	}
	value, ok := lookup(name)
	if hasDefault && value == "" {
		return def, nil
	}
	if !ok {
		return "", fmt.Errorf("environment variable %s is not set (set it, or give a default: ${%s:-default})",
			name, name)
	}
	return value, nil
}

func validVarName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}
