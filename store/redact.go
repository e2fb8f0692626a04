package store

import (
	"maps"
	"net/url"
	"strings"
)

// Redacted replaces a secret in an export.
const Redacted = "REDACTED"

// secretParams are query parameter and cursor parameter names (compared case-insensitively) whose values are
// secrets.
var secretParams = map[string]bool{
	"token": true, "apikey": true, "api_key": true, "access_token": true, "secret": true, "password": true,
	"sig": true, "signature": true,
}

func redactCursor(c CursorRecord) exportCursor {
	out := exportCursor{
		Input: c.Input, Cursor: redactURL(c.Cursor), LastTime: c.LastTime, RecentIDs: c.RecentIDs,
		Endpoint: redactURL(c.Endpoint),
	}
	if out.RecentIDs == nil {
		out.RecentIDs = []string{}
	}
	out.Params = make(map[string]string, len(c.Params))
	for k, v := range maps.All(c.Params) {
		if secretParams[strings.ToLower(k)] {
			out.Params[k] = Redacted
			continue
		}
		out.Params[k] = redactURL(v)
	}
	return out
}

// redactURL replaces credentials in an absolute URL (user:pass@ and secret query parameters) with Redacted. Any
// other string, and a URL without secrets, is returned unchanged; the order of query parameters is kept.
func redactURL(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return s
	}
	changed := false
	if u.User != nil {
		u.User = url.User(Redacted)
		changed = true
	}
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, p := range parts {
			name, _, hasValue := strings.Cut(p, "=")
			if n, err := url.QueryUnescape(name); err == nil {
				name = n
			}
			if hasValue && secretParams[strings.ToLower(name)] {
				parts[i] = p[:strings.IndexByte(p, '=')+1] + Redacted
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
