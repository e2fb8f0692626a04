// Package redact decides which names carry credentials and hides them in URLs, so that logs, errors, `flicker
// validate` and `registry export` agree on what a secret looks like.
package redact

import (
	"net/url"
	"strings"
)

// secretWords mark header, query parameter and field names whose values are credentials.
var secretWords = []string{"auth", "token", "key", "secret", "password", "cookie", "session", "signature", "sig",
	"credential"}

// SecretName reports whether a header, query parameter or field name looks like it carries a credential (it
// contains one of the secret words, case-insensitively: X-Api-Key, access_token, Authorization).
func SecretName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// URL returns s with the user information and the values of the query parameters whose names secret reports
// replaced by with. Any other string, and a URL without secrets, is returned unchanged; the order of the query
// parameters is kept.
func URL(s, with string, secret func(name string) bool) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return s
	}
	changed := false
	if u.User != nil {
		u.User = url.User(with)
		changed = true
	}
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, p := range parts {
			name, _, hasValue := strings.Cut(p, "=")
			if n, err := url.QueryUnescape(name); err == nil {
				name = n
			}
			if hasValue && secret(name) {
				parts[i] = p[:strings.IndexByte(p, '=')+1] + with
				changed = true
			}
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	if !changed {
		return s
	}
	return u.String()
}
