// Package fielderr carries a configuration error together with the path of the field it is about, so that the
// config loader, which knows where each field stands in the YAML file, can add the line.
package fielderr

import (
	"errors"
	"fmt"
)

// Error is a problem with one configuration field.
type Error struct {
	// Path is the field's path relative to the struct that validated it, dot-separated with list indexes in
	// brackets: "multiline.pattern", "paths[2]". The config loader prefixes it with the path of that struct.
	Path string
	Err  error
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %v", e.Path, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// New returns an error about the field at path.
func New(path string, format string, args ...any) error {
	return &Error{Path: path, Err: fmt.Errorf(format, args...)}
}

// Join combines the errors of several fields into one, keeping each one's path; nil errors are dropped.
func Join(errs ...error) error { return errors.Join(errs...) }

// Prefix puts the errors of a nested block under path: a field error's path becomes path.field, any other error
// (a field error wrapped with more context included: the context is part of its message) is about path itself.
// Joined errors are kept apart; an error that unwraps to no errors is still one; nil stays nil.
func Prefix(path string, err error) error {
	if err == nil {
		return nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range joined.Unwrap() {
			if e != nil {
				out = append(out, Prefix(path, e))
			}
		}
		if len(out) > 0 {
			return Join(out...)
		}
		return &Error{Path: path, Err: err}
	}
	if fe, ok := err.(*Error); ok {
		return &Error{Path: path + "." + fe.Path, Err: fe.Err}
	}
	return &Error{Path: path, Err: err}
}
