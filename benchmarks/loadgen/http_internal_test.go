package loadgen

import (
	"net/http"
	"testing"
	"time"
)

func TestRetryAfterReadsSecondsAndDates(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 11, 0, 0, 0, time.UTC)
	cases := []struct {
		value string
		want  time.Duration
	}{
		{"3", 3 * time.Second},
		{" 0 ", 0},
		{now.Add(2 * time.Second).Format(http.TimeFormat), 2 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"", defaultRetryAfter},
		{"soon", defaultRetryAfter},
		{"-1", defaultRetryAfter},
		{"86400", maxRetryAfter},
	}
	for _, c := range cases {
		if got := retryAfter(c.value, now); got != c.want {
			t.Errorf("retryAfter(%q) = %s, want %s", c.value, got, c.want)
		}
	}
}
