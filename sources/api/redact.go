package api

import (
	"bytes"
	"errors"
	"net/url"
	"strings"
	"unicode/utf8"
)

// secretWords mark header and parameter names whose values are credentials.
var secretWords = []string{"auth", "token", "key", "secret", "password", "cookie", "signature", "sig", "session"}

// secretHeader reports whether a header's value should never be shown.
func secretHeader(name string) bool { return secretName(name) }

// secretParam reports whether a query parameter's value should never be shown.
func secretParam(name string) bool { return secretName(name) }

func secretName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// redactURL returns s with user info and the values of secret-looking query parameters replaced; a string that
// is not an absolute URL is returned unchanged.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return s
	}
	if u.User != nil {
		u.User = url.User(redacted)
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if secretParam(k) {
				q[k] = []string{redacted}
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// maxLoggedBody is how much of an unexpected response body a log line shows.
const maxLoggedBody = 512

// redactor removes a source's configured secrets from text it logs (a server could echo a header back).
type redactor struct{ secrets [][]byte }

func newRedactor(c *Config) *redactor {
	r := &redactor{}
	add := func(s string) {
		if len(s) >= 4 { // shorter values would blank out ordinary text
			r.secrets = append(r.secrets, []byte(s))
		}
	}
	add(c.Auth.OktaToken)
	add(c.Auth.BearerToken)
	if c.Auth.Basic != nil {
		add(c.Auth.Basic.Password)
	}
	if c.Auth.OAuth2 != nil {
		add(c.Auth.OAuth2.ClientSecret)
	}
	for k, v := range c.Headers {
		if secretHeader(k) {
			add(v)
		}
	}
	for k, v := range c.Params {
		if secretParam(k) {
			add(v)
		}
	}
	return r
}

// body returns the start of an unexpected response body for a log line, secrets replaced.
func (r *redactor) body(b []byte) string {
	cut := len(b) > maxLoggedBody
	if cut {
		b = b[:maxLoggedBody]
		for range utf8.UTFMax - 1 { // do not end inside a rune
			if r, size := utf8.DecodeLastRune(b); r != utf8.RuneError || size != 1 {
				break
			}
			b = b[:len(b)-1]
		}
	}
	b = r.bytes(b)
	if cut {
		return string(b) + "..."
	}
	return string(b)
}

func (r *redactor) bytes(b []byte) []byte {
	for _, s := range r.secrets {
		if bytes.Contains(b, s) {
			b = bytes.ReplaceAll(b, s, []byte(redacted))
		}
	}
	return b
}

// err returns err's text with secrets replaced and, for a *url.Error, without the URL (its query can hold a
// cursor or a key): the caller names the endpoint.
func (r *redactor) err(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return string(r.bytes([]byte(err.Error())))
}
