package httpout

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
)

// answerFunc answers every request with what the fuzzer chose, without a network.
type answerFunc func(*http.Request) *http.Response

func (f answerFunc) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_ = req.Body.Close() // the RoundTripper contract; post waits for it before reusing the body
	}
	return f(req), nil
}

// secretMark is put in the query of every Location the fuzzer writes: NotFollowed must never show it.
const secretMark = "s3cr3tK3y"

// FuzzResponse: whatever status, Retry-After, Location and body a server answers, post reports that status, a
// StatusError exactly for a status that is not 2xx, whose body is one printable line of bounded size that never
// shows the query of a redirect's Location, and a Retry-After wait within [0, max_retry_after] only for the
// statuses that are retried.
func FuzzResponse(f *testing.F) {
	f.Add(200, "", "", []byte(`{"ok":true}`))
	f.Add(204, "5", "", []byte(nil))
	f.Add(429, "120", "", []byte("slow down"))
	f.Add(503, "Wed, 21 Oct 2026 07:28:00 GMT", "", []byte("<html>\n<body>busy</body></html>"))
	f.Add(400, "", "", []byte("  {\"error\":\n\t\"bad\xff field\"}\r\n\u2028x "))
	f.Add(413, "", "", bytes.Repeat([]byte("\xe2\x80\xa8x"), 400))
	f.Add(422, "99999999999999999999", "", []byte(`{"rejected":[3]}`))
	f.Add(302, "", "https://user:pass@other.example/login#frag", []byte("moved"))
	f.Add(307, "", "/ingest", []byte(nil))
	f.Add(308, "1", "http://127.0.0.1:9/elsewhere", []byte(nil))
	f.Add(301, "", "http://[::1", []byte(nil))
	f.Add(401, "-1", "", []byte("\x00\x01\x1b[31mdenied"))
	const maxRetryAfter = 7 * time.Second
	f.Fuzz(func(t *testing.T, code int, retryAfter, location string, body []byte) {
		// Every final status a server can send: three digits, no 1xx (net/http handles those itself).
		code = 200 + int(uint(code)%800)
		s, err := New(Config{URL: "http://127.0.0.1:9/ingest", MaxRetryAfter: maxRetryAfter}, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close(context.Background())
		if location != "" {
			if strings.Contains(location, "#") {
				location = strings.Replace(location, "#", "?k="+secretMark+"#", 1)
			} else {
				location += "?k=" + secretMark
			}
		}
		s.client.Transport = answerFunc(func(req *http.Request) *http.Response {
			h := http.Header{}
			if retryAfter != "" {
				h.Set("Retry-After", retryAfter)
			}
			if location != "" {
				h.Set("Location", location)
			}
			return &http.Response{StatusCode: code, Header: h, Body: io.NopCloser(bytes.NewReader(body)),
				Request: req, ContentLength: int64(len(body))}
		})
		st := engine.NewStream(&engine.Input{Name: "app", Type: "file"}, func(int64) {})
		b := engine.NewBatch([]engine.Event{{Message: []byte("x"), Stream: st, Offset: 1}})
		got, se, err := s.post(context.Background(), b, 0, 1, []byte("x\n"))
		if err != nil {
			// Only a redirect the client follows can fail without a network: a Location it cannot parse.
			if code < 300 || code >= 400 {
				t.Fatalf("status %d: post failed: %v", code, err)
			}
			return
		}
		if got != code && (code < 300 || code >= 400) {
			t.Fatalf("post reports status %d for %d", got, code)
		}
		if (se == nil) != (got >= 200 && got < 300) {
			t.Fatalf("status %d: StatusError %v", got, se)
		}
		if se == nil {
			return
		}
		if se.Code != got {
			t.Fatalf("StatusError code %d for status %d", se.Code, got)
		}
		checkOneLine(t, se.Body)
		if got < 300 || got >= 400 {
			// Each byte of the snippet becomes at most a 3-byte U+FFFD or a space.
			if len(se.Body) > 3*maxReasonBytes {
				t.Fatalf("body of %d bytes, more than the snippet's %d bytes can give", len(se.Body), maxReasonBytes)
			}
		} else if strings.Contains(se.Body, secretMark) {
			t.Fatalf("redirect explanation %q shows the Location's query", se.Body)
		}
		switch out := classify(got); {
		case se.RetryAfter < 0 || se.RetryAfter > maxRetryAfter:
			t.Fatalf("retry after %s, outside [0, %s]", se.RetryAfter, maxRetryAfter)
		case se.RetryAfter > 0 && out != retry && out != retryLoud:
			t.Fatalf("status %d is not retried, yet has a retry after of %s", got, se.RetryAfter)
		}
	})
}

// checkOneLine fails unless s is valid UTF-8 without control characters, line or paragraph separators, leading,
// trailing or double spaces.
func checkOneLine(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("%q is not UTF-8", s)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			t.Fatalf("%q holds %U", s, r)
		}
	}
	if strings.TrimSpace(s) != s || strings.Contains(s, "  ") {
		t.Fatalf("%q is not trimmed to single spaces", s)
	}
}

// FuzzRetryAfter: a Retry-After value is read as whole seconds exactly when it is digits (capped), else only as an
// HTTP date; the wait is never negative.
func FuzzRetryAfter(f *testing.F) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	for _, s := range []string{"1", " 120 ", "0", "99999999999999999999", "4294967296", "-5", "1.5", "soon", "",
		now.Add(90 * time.Second).Format(http.TimeFormat), "Sunday, 22-Nov-26 10:00:30 GMT",
		"Sun Nov 22 10:00:30 2026", "+1", "0x10", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := parseRetryAfter(v, now)
		trimmed := strings.TrimSpace(v)
		digits := trimmed != "" && strings.Trim(trimmed, "0123456789") == ""
		// A date may be far off (Sub saturates); post caps every wait at max_retry_after.
		if d < 0 || (digits && d > maxRetryAfterSeconds*time.Second) || (!ok && d != 0) {
			t.Fatalf("parseRetryAfter(%q) = %s, %t", v, d, ok)
		}
		if digits && !ok {
			t.Fatalf("parseRetryAfter(%q): digits refused", v)
		}
		if ok && !digits {
			if _, err := http.ParseTime(trimmed); err != nil {
				t.Fatalf("parseRetryAfter(%q) accepted neither seconds nor an HTTP date", v)
			}
		}
	})
}

// FuzzCleanReason: the reason is one printable line, cleaning it again changes nothing, and no word of the input
// is lost (only control characters and runs of spaces are).
func FuzzCleanReason(f *testing.F) {
	f.Add([]byte("  {\"error\":\n\t\"bad\xff field\"}\r\n\u2028x "))
	f.Add([]byte(`{"error":{"type":"mapper_parsing_exception","reason":"failed to parse"}}`))
	f.Add([]byte("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n</html>"))
	f.Add([]byte("\xe2\x80\xa9\xc2\x85\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := cleanReason(b)
		checkOneLine(t, s)
		if again := cleanReason([]byte(s)); again != s {
			t.Fatalf("cleaning %q again gives %q", s, again)
		}
		if len(s) > 3*len(b) {
			t.Fatalf("%d bytes cleaned to %d", len(b), len(s))
		}
	})
}
