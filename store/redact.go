package store

import (
	"maps"
	"strings"

	"github.com/flickerlog/flicker/internal/redact"
)

// Redacted replaces a secret in an export.
const Redacted = "REDACTED"

// secretParams are query parameter and cursor parameter names (compared case-insensitively) whose values are
// secrets. An export keeps everything else: exact names, so that a cursor parameter such as "tokens" survives.
var secretParams = map[string]bool{
	"token": true, "apikey": true, "api_key": true, "access_token": true, "secret": true, "password": true,
	"sig": true, "signature": true,
}

func secretParam(name string) bool { return secretParams[strings.ToLower(name)] }

// redactURL replaces credentials in an absolute URL (user:pass@ and secret query parameters) with Redacted.
func redactURL(s string) string { return redact.URL(s, Redacted, secretParam) }

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
		if secretParam(k) {
			out.Params[k] = Redacted
			continue
		}
		out.Params[k] = redactURL(v)
	}
	return out
}
