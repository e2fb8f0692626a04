package httpout

import (
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1", time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"0", 0, true},
		{"99999999999999999999", maxRetryAfterSeconds * time.Second, true}, // overflows uint64
		{"4294967296", maxRetryAfterSeconds * time.Second, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"Sunday, 22-Nov-26 10:00:30 GMT", 24*time.Hour + 30*time.Second, true}, // RFC 850, still accepted
		{"", 0, false},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("parseRetryAfter(%q) = %s, %t; want %s, %t", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestClassify(t *testing.T) {
	want := map[int]outcome{
		200: accept, 201: accept, 202: accept, 204: accept,
		413: split,
		400: isolate, 422: reject,
		429: retry, 500: retry, 502: retry, 503: retry, 504: retry, 408: retry, 409: retry, 425: retry,
		401: retryLoud, 403: retryLoud, 404: retryLoud, 301: retryLoud, 302: retryLoud, 405: retryLoud,
		410: retryLoud, 415: retryLoud, 100: retryLoud, 600: retryLoud,
	}
	for code, w := range want {
		if got := classify(code); got != w {
			t.Errorf("classify(%d) = %d, want %d", code, got, w)
		}
	}
}

func TestCleanReason(t *testing.T) {
	in := []byte("  {\"error\":\n\t\"bad\xff field\"}\r\n\u2028x ")
	if got, want := cleanReason(in), "{\"error\": \"bad\uFFFD field\"} x"; got != want {
		t.Errorf("cleanReason = %q, want %q", got, want)
	}
}
