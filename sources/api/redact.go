package api

import (
	"bytes"
	"errors"
	"net/url"
	"unicode/utf8"

	"github.com/flickerlog/flicker/internal/redact"
)

// redactURL is s with its user information and secret-looking query values (redact.SecretName) replaced.
func redactURL(s string) string { return redact.URL(s, redacted, redact.SecretName) }

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
		if redact.SecretName(k) {
			add(v)
		}
	}
	for k, v := range c.Params {
		if redact.SecretName(k) {
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
