package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/flickerlog/flicker/internal/fielderr"
)

// Error is one problem in a configuration file, located by line, column and field path.
type Error struct {
	File   string
	Line   int // 1-based; 0 when the problem has no position (an empty file)
	Column int // 1-based; 0 when unknown
	Path   string
	Msg    string
}

// Error formats e as "config.yaml:12:5: log_files[0].multiline.pattern: invalid regexp ...".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a configuration file, in the order they appear in it.
type Errors []*Error

// Error lists the problems one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find each *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sort puts es in file order; problems without a line (a missing top-level section) come last.
func (es Errors) sort() {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Line != es[j].Line {
			if es[i].Line == 0 || es[j].Line == 0 {
				return es[j].Line == 0
			}
			return es[i].Line < es[j].Line
		}
		return es[i].Column < es[j].Column
	})
}

// leafErrors flattens errors joined with errors.Join (or fielderr.Join) into the individual errors.
func leafErrors(err error) []error {
	if err == nil {
		return nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range joined.Unwrap() {
			out = append(out, leafErrors(e)...)
		}
		return out
	}
	return []error{err}
}

// fieldError splits an error returned by a Validate method into its full field path (prefix plus the
// fielderr path) and message. An error without a field path is about the whole entry at prefix.
func fieldError(prefix string, err error) (path, msg string) {
	var fe *fielderr.Error
	if !errors.As(err, &fe) {
		return prefix, err.Error()
	}
	msg = "invalid value"
	if fe.Err != nil {
		msg = fe.Err.Error()
	}
	return joinPath(prefix, fe.Path), msg
}

// joinPath appends a relative field path ("multiline.pattern", "paths[2]") to prefix ("log_files[1]").
func joinPath(prefix, rel string) string {
	switch {
	case rel == "":
		return prefix
	case prefix == "":
		return rel
	case strings.HasPrefix(rel, "["):
		return prefix + rel
	default:
		return prefix + "." + rel
	}
}

// parentPath strips the last element of a field path: "a.b[2]" -> "a.b" -> "a" -> "".
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}
