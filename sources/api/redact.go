package api

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/flickerlog/flicker/internal/redact"
)

// redactURL is s with its user information and secret-looking query values (redact.SecretName) replaced.
func redactURL(s string) string { return redact.URL(s, redacted, redact.SecretName) }

// maxLoggedBody is how much of an unexpected response body a log line shows.
const maxLoggedBody = 512

// redactor removes a source's secrets from text it logs (a server could echo a header back): the configured ones,
// the basic credentials as sent (base64), and the credentials of the Authorization header last sent (an OAuth2
// access token). Used by the poller's goroutine only.
type redactor struct {
	secrets  [][]byte
	sentCred []byte
}

func newRedactor(c *Config) *redactor {
	r := &redactor{}
	add := func(s string) {
		if len(s) >= 4 { // shorter values would blank out ordinary text
			r.secrets = append(r.secrets, []byte(s))
		}
	}
	add(c.Auth.OktaToken)
	add(c.Auth.BearerToken)
	if b := c.Auth.Basic; b != nil {
		add(b.Password)
		add(base64.StdEncoding.EncodeToString([]byte(b.User + ":" + b.Password)))
	}
	if o := c.Auth.OAuth2; o != nil {
		add(o.ClientSecret)
		// The token request's client_secret_basic header, both as RFC 6749 escapes it and as sent unescaped.
		add(base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(o.ClientID) + ":" + url.QueryEscape(o.ClientSecret))))
		add(base64.StdEncoding.EncodeToString([]byte(o.ClientID + ":" + o.ClientSecret)))
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

// sent records the Authorization header of the request being sent: its credentials are redacted too.
func (r *redactor) sent(authorization string) {
	if _, cred, ok := strings.Cut(authorization, " "); ok && len(cred) >= 4 {
		r.sentCred = append(r.sentCred[:0], cred...)
	} else {
		r.sentCred = r.sentCred[:0]
	}
}

// body returns the start of an unexpected response body for a log line, secrets replaced (before the cut: a
// secret across it would keep its first bytes).
func (r *redactor) body(b []byte) string {
	b = r.bytes(b)
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
	if cut {
		return string(b) + "..."
	}
	return string(b)
}

func (r *redactor) bytes(b []byte) []byte {
	if len(r.sentCred) > 0 && bytes.Contains(b, r.sentCred) {
		b = bytes.ReplaceAll(b, r.sentCred, []byte(redacted))
	}
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

// linkSecrets are the configured secrets a next link may echo (an api_key param, a client secret), so that the
// links the registry keeps hold placeholders instead (redact.StripQuery) and the requests the current values.
// Values are matched exactly, never by parameter name: pagination cursors are often named like secrets
// (page_token, next_token) and must survive.
type linkSecrets struct {
	byValue map[string]string // secret value -> its ref in the configuration
	byRef   map[string]string // ref -> the configuration's current value
}

func newLinkSecrets(c *Config) linkSecrets {
	s := linkSecrets{byValue: map[string]string{}, byRef: map[string]string{}}
	add := func(ref, v string) {
		if v != "" {
			s.byValue[v] = ref
			s.byRef[ref] = v
		}
	}
	add("auth.okta_token", c.Auth.OktaToken)
	add("auth.bearer_token", c.Auth.BearerToken)
	if c.Auth.Basic != nil {
		add("auth.basic.password", c.Auth.Basic.Password)
	}
	if c.Auth.OAuth2 != nil {
		add("auth.oauth2.client_secret", c.Auth.OAuth2.ClientSecret)
	}
	for k, v := range c.Headers {
		if redact.SecretName(k) {
			add("headers."+k, v)
		}
	}
	// Params last: a value that is also an auth value or header is put back from the params.
	for k, v := range c.Params {
		if redact.SecretName(k) {
			add(redact.ParamRef(k), v)
		}
	}
	return s
}

// strip replaces the secret values in link's query with placeholders.
func (s linkSecrets) strip(link string) string { return redact.StripQuery(link, s.byValue) }

// fill puts the configuration's current values back into a stripped link; false when it names a secret the
// configuration no longer has.
func (s linkSecrets) fill(link string) (string, bool) { return redact.FillQuery(link, s.byRef) }
