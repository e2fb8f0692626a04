package httpout

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// StatusError is a response whose status is not 2xx. It is the retry error or the rejection reason of the events
// of that request.
type StatusError struct {
	Code int
	// RetryAfter is the wait the server asked for with Retry-After, capped at max_retry_after; 0 without one.
	RetryAfter time.Duration
	// Body is the start of the response body, cleaned up to one line: servers explain rejections there.
	Body string
}

func (e *StatusError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "http %d", e.Code)
	if t := http.StatusText(e.Code); t != "" {
		b.WriteString(" " + t)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.Body != "" {
		b.WriteString(": " + e.Body)
	}
	return b.String()
}

// outcome is what a response status means for the events of the request.
type outcome uint8

const (
	accept    outcome = iota // 2xx
	split                    // 413: too large, send the halves
	isolate                  // 400: some event is bad; send the halves to find it (within rejectsplit's bounds)
	reject                   // 422: the server read the events and will never take them
	retry                    // transient: 408, 409, 425, 429, 5xx
	retryLoud                // retried, but an operator has to act: 401, 403, 404, 3xx, other 4xx
)

// classify maps a status code to its outcome. Statuses the issue does not name are retried and logged loudly:
// most mean a configuration the operator can fix (415 for a body format the server does not take, 405 for a
// wrong path), and rejecting would send every event to the dead letter until then.
func classify(code int) outcome {
	switch {
	case code >= 200 && code < 300:
		return accept
	case code == http.StatusRequestEntityTooLarge:
		return split
	case code == http.StatusBadRequest:
		return isolate
	case code == http.StatusUnprocessableEntity:
		return reject
	case code == http.StatusTooManyRequests, code == http.StatusRequestTimeout, code == http.StatusConflict,
		code == http.StatusTooEarly, code >= 500 && code < 600:
		// 409: with an Idempotency-Key, another request with the same key is still being processed.
		return retry
	default:
		return retryLoud
	}
}

// hint tells the operator what a loudly logged status probably needs.
func hint(code int) string {
	switch {
	case code == http.StatusUnauthorized:
		return "the server refused the credentials: check auth (an expired token?); events are retried meanwhile"
	case code == http.StatusForbidden:
		return "the server forbids these requests: check auth and its permissions; events are retried meanwhile"
	case code == http.StatusNotFound:
		return "the server has no such endpoint: check url; events are retried meanwhile"
	case code >= 300 && code < 400:
		return "the server redirects, and this redirect is not followed (the response says why): set url to " +
			"the final location; events are retried meanwhile"
	default:
		return "the server refuses these requests: check url, format, compression and headers; events are " +
			"retried meanwhile"
	}
}

// maxRetryAfterSeconds keeps a huge Retry-After from overflowing a Duration; max_retry_after caps it anyway.
const maxRetryAfterSeconds = 1 << 30

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date (RFC 9110 section 10.2.3). It reports
// false for a missing or malformed value. A date in the past is a zero wait.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		// ParseUint answers ErrRange as soon as the digits overflow, before it sees a later non-digit.
		if strings.Trim(v, "0123456789") != "" {
			return 0, false
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if errors.Is(err, strconv.ErrRange) {
			n, err = maxRetryAfterSeconds, nil
		}
		if err != nil {
			return 0, false
		}
		return time.Duration(min(n, maxRetryAfterSeconds)) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// maxReasonBytes is how much of a response body goes into a StatusError.
const maxReasonBytes = 512

// cleanReason turns the start of a response body into one printable line.
func cleanReason(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
