package store

import (
	"github.com/flickerlog/flicker/internal/redact"
)

// Redacted replaces a secret in an export.
const Redacted = "REDACTED"

// redactURL replaces the user information of an absolute URL with Redacted. Query values need nothing: a cursor
// holds no secret value (the API source stores placeholders instead, internal/redact.StripQuery, and v1 cursors are
// sealed as they are read), and a cursor parameter named like a secret (page_token, next_token) must survive an
// export exactly.
func redactURL(s string) string { return redact.URL(s, Redacted, func(string) bool { return false }) }

// RedactedCursor is c as `registry show` and export print it: user information in its URLs replaced with
// Redacted, and in the endpoint (which has no cursor data) also the values of secret-looking query parameters
// (redact.SecretName, the policy of logs and validate).
func RedactedCursor(c CursorRecord) CursorRecord {
	c.Cursor, c.Endpoint = redactURL(c.Cursor), redact.URL(c.Endpoint, Redacted, redact.SecretName)
	return c
}
