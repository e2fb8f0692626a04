package api

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rate limiting follows Okta's headers, which other APIs share or approximate: X-Rate-Limit-Limit (requests
// per window), X-Rate-Limit-Remaining, X-Rate-Limit-Reset (the window's end, epoch seconds), plus Retry-After.
const (
	headerLimit     = "X-Rate-Limit-Limit"
	headerRemaining = "X-Rate-Limit-Remaining"
	headerReset     = "X-Rate-Limit-Reset"
)

// spreadFraction: once Remaining falls to this fraction of Limit, the remaining requests are spread evenly
// until Reset instead of spending them at once, leaving room for the other clients of the same budget.
const spreadFraction = 0.25

// resetMargin is added to Reset: the window ends at a whole second, and a request that arrives a hair early
// would be refused.
const resetMargin = 50 * time.Millisecond

// maxSkew: a server Date further than this from the local clock is taken as clock skew and corrected for.
const maxSkew = 2 * time.Second

// limiter paces the requests that share one rate budget: the sources of one Source polling the same endpoint.
// It counts its own requests down from the last Remaining seen, so that concurrent pollers do not both spend
// the last one.
type limiter struct {
	mu        sync.Mutex
	known     bool // limit, remaining and reset describe the current window
	limit     int
	remaining int
	reset     time.Time // local clock
	notBefore time.Time // after a 429 or a Retry-After: nothing is sent before it
	last      time.Time // when the last request was let through
}

// reserve returns how long to wait before the next request; zero means go now, and the request is counted.
// slowed reports that the wait spreads the remaining budget (rather than waiting out an exhausted one).
func (l *limiter) reserve(now time.Time) (wait time.Duration, slowed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.notBefore) {
		return l.notBefore.Sub(now), false
	}
	if l.known && !now.Before(l.reset) {
		l.known = false // a new window: its budget is learned from the next response
	}
	if l.known {
		if l.remaining <= 0 {
			return l.reset.Sub(now), false
		}
		if float64(l.remaining) <= spreadFraction*float64(l.limit) {
			gap := l.reset.Sub(now) / time.Duration(l.remaining+1)
			if next := l.last.Add(gap); now.Before(next) {
				return next.Sub(now), true
			}
		}
		l.remaining--
	}
	l.last = now
	return 0, false
}

// observe records the rate headers of a response received at now. It returns when the budget resets, zero when
// the response does not say.
func (l *limiter) observe(h http.Header, now time.Time) time.Time {
	limit, errL := strconv.Atoi(h.Get(headerLimit))
	remaining, errR := strconv.Atoi(h.Get(headerRemaining))
	resetSec, errS := strconv.ParseInt(h.Get(headerReset), 10, 64)
	if errR != nil || errS != nil {
		return time.Time{}
	}
	reset := time.Unix(resetSec, 0).Add(skew(h, now) + resetMargin)
	l.mu.Lock()
	defer l.mu.Unlock()
	if errL != nil || limit <= 0 {
		limit = max(remaining, l.limit)
	}
	// Responses of concurrent requests arrive in any order: within one window keep the lowest count.
	if l.known && reset.Equal(l.reset) {
		remaining = min(remaining, l.remaining)
	}
	l.known, l.limit, l.remaining, l.reset = true, limit, remaining, reset
	return reset
}

// holdUntil stops every request of the budget until t (a 429's reset or Retry-After).
func (l *limiter) holdUntil(t time.Time) {
	l.mu.Lock()
	if t.After(l.notBefore) {
		l.notBefore = t
	}
	l.mu.Unlock()
}

// skew is how far the local clock is ahead of the server's by its Date header; zero when within maxSkew (the
// Date has a resolution of one second, and the usual case is a synchronised clock).
func skew(h http.Header, now time.Time) time.Duration {
	d, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		return 0
	}
	if s := now.Sub(d); s > maxSkew || s < -maxSkew {
		return s
	}
	return 0
}

// maxRetryAfterSeconds caps a Retry-After in seconds (34 years: longer is the same wait in practice).
const maxRetryAfterSeconds = 1 << 30

// retryAfter returns the time a Retry-After header (seconds or an HTTP date) asks to wait until; zero without
// one.
func retryAfter(h http.Header, now time.Time) time.Time {
	v := h.Get("Retry-After")
	if v == "" {
		return time.Time{}
	}
	if strings.Trim(v, "0123456789") == "" {
		// Capped: seconds past a Duration's range would wrap into the past and mean "go now".
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n > maxRetryAfterSeconds { // err is only ErrRange: v is all digits
			n = maxRetryAfterSeconds
		}
		return now.Add(time.Duration(n) * time.Second)
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Add(skew(h, now))
	}
	return time.Time{}
}

// limiters hands out the limiter of each budget, keyed by the endpoint without its query.
type limiters struct {
	mu sync.Mutex
	m  map[string]*limiter
}

func (ls *limiters) get(key string) *limiter {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.m == nil {
		ls.m = make(map[string]*limiter)
	}
	l := ls.m[key]
	if l == nil {
		l = &limiter{}
		ls.m[key] = l
	}
	return l
}

// backoff is capped exponential backoff with jitter: attempt n (from 1) waits a random duration between half
// and all of min(initial * 2^(n-1), max).
func backoff(initial, maxWait time.Duration, n int) time.Duration {
	d := initial
	for i := 1; i < n && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	return d/2 + rand.N(d/2+1)
}
