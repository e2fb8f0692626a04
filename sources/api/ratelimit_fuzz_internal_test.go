package api

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzRateLimitHeaders: whatever rate headers an API answers with, the limiter never asks for a negative wait,
// and a Retry-After of whole seconds never means "go now": it waits until at least now.
func FuzzRateLimitHeaders(f *testing.F) {
	now := time.Unix(1795255200, 0)
	f.Add("600", "599", "1795255260", "", "")
	f.Add("600", "10", "1795255230", now.Add(-time.Hour).Format(http.TimeFormat), "")
	f.Add("", "0", "1795255201", "", "30")
	f.Add("-1", "-5", "-9223372036854775808", "garbage", now.Add(time.Minute).Format(http.TimeFormat))
	f.Add("9223372036854775807", "9223372036854775807", "9223372036854775807", "", "9223372036854775807")
	f.Fuzz(func(t *testing.T, limit, remaining, reset, date, retry string) {
		h := http.Header{}
		for k, v := range map[string]string{headerLimit: limit, headerRemaining: remaining, headerReset: reset,
			"Date": date, "Retry-After": retry} {
			if v != "" {
				h.Set(k, v)
			}
		}
		var l limiter
		l.observe(h, now)
		for i := range 3 {
			if w, _ := l.reserve(now); w < 0 {
				t.Fatalf("request %d: wait %s", i, w)
			}
		}
		ra := retryAfter(h, now)
		if retry != "" && strings.Trim(retry, "0123456789") == "" && ra.Before(now) {
			t.Fatalf("Retry-After %q gives %s, before now %s", retry, ra, now)
		}
	})
}
