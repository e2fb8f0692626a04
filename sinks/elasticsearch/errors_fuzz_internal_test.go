package elasticsearch

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzErrorReason: whatever an error response holds (Elasticsearch's error object, a plain string, a proxy's
// HTML page, nothing), its reason is never empty and bounded by the body; one that is not JSON becomes one line of
// printable UTF-8 text of at most 200 bytes and an ellipsis.
func FuzzErrorReason(f *testing.F) {
	for _, s := range []string{
		`{"error":{"root_cause":[],"type":"mapper_parsing_exception","reason":"failed to parse field [a]",` +
			`"caused_by":{"type":"illegal_argument_exception","reason":"bad value"}},"status":400}`,
		`{"error":"Incorrect HTTP method for uri [/_bulk] and method [GET]","status":405}`,
		`{"error":{"type":"","reason":""}}`, `{"error":null}`, `{"error":[1]}`,
		"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>nginx</body></html>\r\n",
		"", "\xff\xfe\x00", strings.Repeat("é", 150),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := readErrorReason(bytes.NewReader(body))
		if r == "" || len(r) > 3*len(body)+32 {
			t.Fatalf("%q: reason %q", body, r)
		}
		if json.Valid(body) {
			return
		}
		if len(r) > 200+len("…") || !utf8.ValidString(r) || strings.ContainsFunc(r, func(c rune) bool {
			return c < 0x20 || c == 0x7f
		}) || strings.TrimSpace(r) != r {
			t.Fatalf("%q: reason %q is not one short printable line", body, r)
		}
	})
}
