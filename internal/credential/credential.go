// Package credential checks the credentials a configuration gives an output or an input (tokens, passwords, API
// keys, user names) for what would make every request fail while `flicker validate` says the file is fine: a line
// break or NUL in a value (secrets read from files often end with a newline) and a user name without its
// password, or the reverse. Each package's Validate calls it for its own fields; messages never quote a value.
package credential

import (
	"strings"

	"github.com/flickerlog/flicker/internal/fielderr"
)

// Field is a credential setting: its path relative to the entry being validated, as fielderr takes it
// ("auth.bearer_token"), and its value.
type Field struct {
	Path  string
	Value string
}

// forbidden are the bytes no request header can carry: with one in a value, every request fails.
const forbidden = "\r\n\x00"

// Check returns a fielderr error for each field whose value holds a CR, LF or NUL.
func Check(fields ...Field) []error {
	var errs []error
	for _, f := range fields {
		if !strings.ContainsAny(f.Value, forbidden) {
			continue
		}
		if trimmed := strings.TrimRight(f.Value, "\r\n"); !strings.ContainsAny(trimmed, forbidden) {
			errs = append(errs, fielderr.New(f.Path, "ends with a line break: secrets read from files often do; "+
				"strip it"))
			continue
		}
		errs = append(errs, fielderr.New(f.Path, "contains a line break or NUL, which no request can carry"))
	}
	return errs
}

// Pair returns a fielderr error, at the missing field, when one of a user name and its password is set without
// the other: basic authentication sends both.
func Pair(user, password Field) []error {
	switch {
	case user.Value != "" && password.Value == "":
		return []error{missing(password.Path, user.Path)}
	case password.Value != "" && user.Value == "":
		return []error{missing(user.Path, password.Path)}
	}
	return nil
}

func missing(path, with string) error {
	return fielderr.New(path, "required with %s (basic authentication sends both)", with)
}
