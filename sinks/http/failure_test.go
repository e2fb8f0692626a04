package httpout_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
	httpout "github.com/flickerlog/flicker/sinks/http"
)

// failedStatus reports whether the collector answered r with something other than 2xx (or nothing).
func failedStatus(r received) bool { return r.status < 200 || r.status >= 300 }

func TestServerErrorsThenAccepts(t *testing.T) {
	const failures = 5
	c := newCollector(t, func(n int, _ *received) reply {
		if n < failures {
			return reply{status: http.StatusInternalServerError, body: "database is down"}
		}
		return reply{}
	})
	content := enginetest.SuiteContent(3, 200)
	runPipeline(t, newSink(t, c.url(), httpout.Config{}, zerolog.Nop()), content)

	// A 5xx means the server kept nothing: every message arrives exactly once, in order per stream.
	enginetest.CheckStreams(t, content, c.delivered(), false)
	reqs := c.requests()
	var failed int
	for _, r := range reqs {
		if failedStatus(r) {
			failed++
		}
	}
	if failed != failures {
		t.Errorf("%d failed requests, want %d", failed, failures)
	}
	checkSpaced(t, reqs, failedStatus, fastRetry.Initial/2)
}

func TestThrottledHonoursRetryAfter(t *testing.T) {
	const throttles = 2
	c := newCollector(t, func(n int, _ *received) reply {
		if n < throttles {
			return reply{status: http.StatusTooManyRequests, retryAfter: "1"}
		}
		return reply{}
	})
	content := enginetest.SuiteContent(2, 50)
	runPipeline(t, newSink(t, c.url(), httpout.Config{}, zerolog.Nop()), content)

	enginetest.CheckStreams(t, content, c.delivered(), false)
	reqs := c.requests()
	if len(reqs) < throttles+1 {
		t.Fatalf("%d requests, want at least %d", len(reqs), throttles+1)
	}
	// The engine's backoff is tens of milliseconds: only Retry-After explains a second between requests.
	checkSpaced(t, reqs, failedStatus, time.Second)
}

func TestRetryAfterCapAndContext(t *testing.T) {
	var answer atomic.Value // the Retry-After of the first request's 503
	c := newCollector(t, func(n int, _ *received) reply {
		if n == 0 {
			return reply{status: http.StatusServiceUnavailable, retryAfter: answer.Load().(string)}
		}
		return reply{}
	})

	t.Run("a long Retry-After waits in the next Write until its context ends", func(t *testing.T) {
		answer.Store("30")
		s := newSink(t, c.url(), httpout.Config{}, zerolog.Nop())
		err := s.Write(t.Context(), engine.NewBatch(events(testStream("/a"), 0, 3)))
		var se *httpout.StatusError
		if !errors.As(err, &se) || se.Code != http.StatusServiceUnavailable || se.RetryAfter != 30*time.Second {
			t.Fatalf("write: %v, want a 503 with a 30s Retry-After", err)
		}
		before := len(c.requests())
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		b := engine.NewBatch(events(testStream("/a"), 0, 3))
		start := time.Now()
		err = s.Write(ctx, b)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("write: %v, want the context's deadline", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("Write returned %s after its context ended", d)
		}
		if st, _ := b.Status(0); st != engine.Retry {
			t.Errorf("status %v, want retry", st)
		}
		if n := len(c.requests()); n != before {
			t.Errorf("%d requests sent during the Retry-After wait", n-before)
		}
	})

	t.Run("max_retry_after caps the wait", func(t *testing.T) {
		c.mu.Lock()
		c.reqs = nil
		c.mu.Unlock()
		answer.Store(time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
		s := newSink(t, c.url(), httpout.Config{MaxRetryAfter: 50 * time.Millisecond}, zerolog.Nop())
		err := s.Write(t.Context(), engine.NewBatch(events(testStream("/a"), 0, 3)))
		var se *httpout.StatusError
		if !errors.As(err, &se) || se.RetryAfter != 50*time.Millisecond {
			t.Fatalf("write: %v, want Retry-After capped at 50ms", err)
		}
		if err := s.Write(t.Context(), engine.NewBatch(events(testStream("/a"), 0, 3))); err != nil {
			t.Fatal(err)
		}
		reqs := c.requests()
		if len(reqs) != 2 {
			t.Fatalf("%d requests, want 2", len(reqs))
		}
		if d := reqs[1].at.Sub(reqs[0].at); d < 50*time.Millisecond {
			t.Errorf("second request %s after the 503, want at least the capped 50ms", d)
		}
	})
}

func TestUnauthorizedThenAccepted(t *testing.T) {
	const token = "s3cr3t-token"
	c := newCollector(t, func(n int, r *received) reply {
		if n < 3 {
			return reply{status: http.StatusUnauthorized, body: `{"error":"token expired"}`}
		}
		return reply{}
	})
	var logs logBuffer
	s := newSink(t, c.url(), httpout.Config{Auth: httpout.Auth{BearerToken: token}}, zerolog.New(&logs))
	for i := range 3 {
		b := engine.NewBatch(events(testStream("/a"), 0, 4))
		err := s.Write(t.Context(), b)
		var se *httpout.StatusError
		if !errors.As(err, &se) || se.Code != http.StatusUnauthorized || !strings.Contains(se.Body, "token expired") {
			t.Fatalf("write %d: %v, want a 401 error with the server's explanation", i, err)
		}
		for j := range b.Len() {
			if st, _ := b.Status(j); st != engine.Retry {
				t.Fatalf("write %d event %d: status %v, want retry", i, j, st)
			}
		}
	}
	b := engine.NewBatch(events(testStream("/a"), 0, 4))
	if err := s.Write(t.Context(), b); err != nil {
		t.Fatalf("write after the token was fixed: %v", err)
	}
	if got := len(c.delivered()); got != 4 {
		t.Errorf("%d events delivered, want 4", got)
	}
	errs := logs.entries(t, "error")
	if len(errs) != 1 {
		t.Fatalf("%d error logs for three 401s, want one (rate-limited): %s", len(errs), logs.String())
	}
	if errs[0]["status"] != float64(401) || !strings.Contains(errs[0]["message"].(string), "credentials") {
		t.Errorf("error log %v: want status 401 and a hint about credentials", errs[0])
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("the token appears in the logs: %s", logs.String())
	}
}

func TestRetriedStatuses(t *testing.T) {
	tests := []struct {
		status int
		loud   bool // logged at error level
	}{
		{http.StatusInternalServerError, false},
		{http.StatusBadGateway, false},
		{http.StatusServiceUnavailable, false},
		{http.StatusTooManyRequests, false},
		{http.StatusRequestTimeout, false},
		{http.StatusConflict, false},
		{http.StatusUnauthorized, true},
		{http.StatusForbidden, true},
		{http.StatusNotFound, true},
		{http.StatusMethodNotAllowed, true},
		{http.StatusUnsupportedMediaType, true},
		{http.StatusFound, true},
		{http.StatusTemporaryRedirect, true}, // to another host
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			c := newCollector(t, func(int, *received) reply {
				return reply{status: tt.status, location: "http://127.0.0.1:1/elsewhere?token=abc"}
			})
			var logs logBuffer
			s := newSink(t, c.url(), httpout.Config{}, zerolog.New(&logs))
			b := engine.NewBatch(events(testStream("/a"), 0, 3))
			err := s.Write(t.Context(), b)
			var se *httpout.StatusError
			if !errors.As(err, &se) || se.Code != tt.status {
				t.Fatalf("write: %v, want a StatusError %d", err, tt.status)
			}
			for i := range b.Len() {
				if st, _ := b.Status(i); st != engine.Retry {
					t.Errorf("event %d: status %v, want retry", i, st)
				}
			}
			if got := len(logs.entries(t, "error")) == 1; got != tt.loud {
				t.Errorf("logged at error level: %t, want %t (%s)", got, tt.loud, logs.String())
			}
			if strings.Contains(logs.String()+err.Error(), "abc") {
				t.Errorf("the Location's query value leaked: %v %s", err, logs.String())
			}
			if len(c.requests()) != 1 {
				t.Errorf("%d requests, want 1 (no redirect followed)", len(c.requests()))
			}
		})
	}
}

// TestRejected: a 422 rejects every event of its request (400 is split: reject_test.go).
func TestRejected(t *testing.T) {
	for _, status := range []int{http.StatusUnprocessableEntity} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			c := newCollector(t, func(int, *received) reply {
				return reply{status: status, body: "field \"level\":\n\tnot a keyword"}
			})
			s := newSink(t, c.url(), httpout.Config{}, zerolog.Nop())
			b := engine.NewBatch(events(testStream("/a"), 0, 5))
			if err := s.Write(t.Context(), b); err != nil {
				t.Fatalf("write: %v, want nil (the events are rejected, not retried)", err)
			}
			for i := range b.Len() {
				st, reason := b.Status(i)
				var se *httpout.StatusError
				if st != engine.Rejected || !errors.As(reason, &se) || se.Code != status {
					t.Fatalf("event %d: %v %v, want rejected with status %d", i, st, reason, status)
				}
				if want := `field "level": not a keyword`; se.Body != want {
					t.Errorf("reason body %q, want %q", se.Body, want)
				}
			}
			if len(c.requests()) != 1 {
				t.Errorf("%d requests, want 1", len(c.requests()))
			}
		})
	}
}

// tooLargeOver answers 413 to request bodies over limit bytes, like a proxy's body size limit (nginx's
// client_max_body_size, which reads and discards the rest of the body before closing).
func tooLargeOver(limit int) func(int, *received) reply {
	return func(_ int, r *received) reply {
		if r.wire > limit {
			return reply{status: http.StatusRequestEntityTooLarge, body: "<html>413 Request Entity Too Large</html>"}
		}
		return reply{}
	}
}

func TestTooLargeSplitsTheBatch(t *testing.T) {
	const limit = 2000
	c := newCollector(t, tooLargeOver(limit))
	content := enginetest.SuiteContent(3, 150)
	runPipeline(t, newSink(t, c.url(), httpout.Config{Compression: httpout.CompressionNone}, zerolog.Nop()),
		content)

	// Splitting happens within a Write: nothing is retried, every message arrives exactly once.
	enginetest.CheckStreams(t, content, c.delivered(), false)
	var refused, accepted int
	for _, r := range c.requests() {
		if r.status == http.StatusRequestEntityTooLarge {
			refused++
		} else {
			accepted++
		}
	}
	if refused == 0 {
		t.Fatal("no request was refused: the test does not exercise splitting")
	}
	// Bodies as large as one already refused are split before sending: far fewer 413s than accepted requests.
	if refused > accepted/4 {
		t.Errorf("%d requests refused for %d accepted: the output keeps sending bodies it knows are too large",
			refused, accepted)
	}
	t.Logf("%d requests refused, %d accepted", refused, accepted)
}

func TestTooLargeSingleEventRejected(t *testing.T) {
	const limit = 2000
	c := newCollector(t, tooLargeOver(limit))
	s := newSink(t, c.url(), httpout.Config{Compression: httpout.CompressionNone}, zerolog.Nop())
	evs := events(testStream("/a"), 0, 7)
	evs[4].Message = []byte(strings.Repeat("x", 3000))
	b := engine.NewBatch(evs)
	if err := s.Write(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	for i := range b.Len() {
		st, reason := b.Status(i)
		switch {
		case i == 4:
			var se *httpout.StatusError
			if st != engine.Rejected || !errors.As(reason, &se) || se.Code != http.StatusRequestEntityTooLarge ||
				!strings.Contains(reason.Error(), "bytes") {
				t.Errorf("the large event: %v %v, want rejected with its size and the 413", st, reason)
			}
		case st != engine.Accepted:
			t.Errorf("event %d: %v %v, want accepted", i, st, reason)
		}
	}
	got := c.delivered()
	if len(got) != 6 {
		t.Fatalf("%d events delivered, want the 6 small ones", len(got))
	}
	seen := map[string]bool{}
	for _, m := range got {
		if seen[string(m)] {
			t.Errorf("%s delivered twice", m)
		}
		seen[string(m)] = true
	}
}

func TestStalledServerTimesOut(t *testing.T) {
	c := newCollector(t, func(n int, _ *received) reply { return reply{stall: n < 2} })
	content := enginetest.SuiteContent(2, 60)
	runPipeline(t, newSink(t, c.url(), httpout.Config{Timeout: 100 * time.Millisecond}, zerolog.Nop()), content)
	enginetest.CheckStreams(t, content, c.delivered(), false)
	// The timeout ended the stalled requests, then the backoff ran: half the timeout leaves room for a slow
	// handler start.
	checkSpaced(t, c.requests(), failedStatus, 50*time.Millisecond)
}

func TestStalledWriteReportsTimeout(t *testing.T) {
	c := newCollector(t, func(int, *received) reply { return reply{stall: true} })
	s := newSink(t, c.url(), httpout.Config{Timeout: 50 * time.Millisecond}, zerolog.Nop())
	b := engine.NewBatch(events(testStream("/a"), 0, 2))
	err := s.Write(t.Context(), b)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("write: %v, want a timeout", err)
	}
	if st, _ := b.Status(1); st != engine.Retry {
		t.Errorf("status %v, want retry", st)
	}
}

func TestConnectionResets(t *testing.T) {
	c := newCollector(t, func(n int, _ *received) reply { return reply{reset: n < 4} })
	content := enginetest.SuiteContent(2, 60)
	runPipeline(t, newSink(t, c.url(), httpout.Config{}, zerolog.Nop()), content)
	// The collector read the reset requests but answered nothing: they are not delivered, and retried.
	enginetest.CheckStreams(t, content, c.delivered(), false)
	var resets int
	for _, r := range c.requests() {
		if r.status == 0 {
			resets++
		}
	}
	if resets != 4 {
		t.Errorf("%d requests reset, want 4", resets)
	}
}

// TestRedirectOnTheSameHostFollowed: a 307 or 308 to another path of the same host is followed with the method,
// the body and the headers.
func TestRedirectOnTheSameHostFollowed(t *testing.T) {
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			c := newCollector(t, func(n int, _ *received) reply {
				if n == 0 {
					return reply{status: status, location: "/moved"}
				}
				return reply{}
			})
			s := newSink(t, c.url(), httpout.Config{Headers: map[string]string{"X-Api-Key": "k"}}, zerolog.Nop())
			b := engine.NewBatch(events(testStream("/a"), 0, 5))
			if err := s.Write(t.Context(), b); err != nil {
				t.Fatal(err)
			}
			reqs := c.requests()
			if len(reqs) != 2 || len(reqs[1].messages) != 5 || reqs[1].header.Get("X-Api-Key") != "k" {
				t.Fatalf("%d requests; want 2, the second with the 5 events and the header", len(reqs))
			}
			if got := len(c.delivered()); got != 5 {
				t.Errorf("%d events delivered, want 5 (method and body kept)", got)
			}
		})
	}
}

// TestRedirectToAnotherHostRefused: net/http would follow a 307 or 308 to another host with the configured
// headers and the events (it drops only Authorization). It is refused: nothing reaches the other host, the
// events are retried and the refusal logged at error level.
func TestRedirectToAnotherHostRefused(t *testing.T) {
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			other := newCollector(t, nil)
			c := newCollector(t, func(int, *received) reply {
				return reply{status: status, location: other.url() + "?api_key=k3y"}
			})
			var logs logBuffer
			s := newSink(t, c.url(), httpout.Config{Headers: map[string]string{"X-Api-Key": "s3cret"}},
				zerolog.New(&logs))
			b := engine.NewBatch(events(testStream("/a"), 0, 5))
			err := s.Write(t.Context(), b)
			var se *httpout.StatusError
			if !errors.As(err, &se) || se.Code != status || !strings.Contains(se.Body, "another host") {
				t.Fatalf("write: %v, want a StatusError %d saying it goes to another host", err, status)
			}
			for i := range b.Len() {
				if st, _ := b.Status(i); st != engine.Retry {
					t.Errorf("event %d: status %v, want retry", i, st)
				}
			}
			if n := len(other.requests()); n != 0 {
				t.Errorf("the other host received %d requests, want none", n)
			}
			if errs := logs.entries(t, "error"); len(errs) != 1 {
				t.Errorf("%d error logs, want 1: %s", len(errs), logs.String())
			}
			if out := logs.String() + err.Error(); strings.Contains(out, "s3cret") || strings.Contains(out, "k3y") {
				t.Errorf("a secret leaked: %v %s", err, logs.String())
			}
		})
	}
}

func TestWriteAfterClose(t *testing.T) {
	c := newCollector(t, nil)
	s := newSink(t, c.url(), httpout.Config{}, zerolog.Nop())
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(t.Context(), engine.NewBatch(events(testStream("/a"), 0, 1))); !errors.Is(err,
		httpout.ErrClosed) {
		t.Fatalf("write after close: %v, want ErrClosed", err)
	}
}

func TestNetworkErrorDoesNotLeakURLSecrets(t *testing.T) {
	// Port 1 on 127.0.0.1: connection refused.
	s := newSink(t, "http://user:pa55word@127.0.0.1:1/ingest?api_key=k3y", httpout.Config{}, zerolog.Nop())
	b := engine.NewBatch(events(testStream("/a"), 0, 2))
	err := s.Write(t.Context(), b)
	if err == nil {
		t.Fatal("write to a closed port succeeded")
	}
	if msg := err.Error(); strings.Contains(msg, "pa55word") || strings.Contains(msg, "k3y") {
		t.Errorf("error leaks a secret: %v", err)
	}
	if st, _ := b.Status(0); st != engine.Retry {
		t.Errorf("status %v, want retry", st)
	}
}

// TestTooLargeAnsweredBeforeTheBody uses an httptest server on 127.0.0.1 emulating a proxy that answers 413 from
// Content-Length alone, without reading the body: the transport may still be writing the body when the response
// arrives, which the race detector checks against the next request's encoding.
func TestTooLargeAnsweredBeforeTheBody(t *testing.T) {
	const limit = 100 << 10
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		var rec received
		if err := decode(r.Header, body, &rec); err != nil {
			t.Errorf("decode: %v", err)
		}
		mu.Lock()
		got = append(got, rec.messages...)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	s := newSink(t, srv.URL, httpout.Config{Compression: httpout.CompressionNone}, zerolog.Nop())
	want := map[string]bool{}
	for k := range 5 {
		evs := events(testStream("/a"), k*1000, 1000)
		for i := range evs {
			evs[i].Message = fmt.Appendf(nil, "%s %d", strings.Repeat("y", 500), k*1000+i)
			want[string(evs[i].Message)] = true
		}
		b := engine.NewBatch(evs)
		if err := s.Write(t.Context(), b); err != nil {
			t.Fatalf("write %d: %v", k, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) {
		t.Errorf("%d events delivered, want %d", len(got), len(want))
	}
	for _, m := range got {
		if !want[m] {
			t.Errorf("%.20q delivered twice or never sent", m)
		}
		delete(want, m)
	}
}

// TestWorkersShareRetryAfter: with NewWorkers, a Retry-After answered to one worker holds the others back too: the
// second worker's Write sends nothing while the wait lasts and gives up when its context ends first.
func TestWorkersShareRetryAfter(t *testing.T) {
	c := newCollector(t, func(n int, _ *received) reply {
		if n == 0 {
			return reply{status: http.StatusTooManyRequests, retryAfter: "30"}
		}
		return reply{}
	})
	workers, err := httpout.NewWorkers(httpout.Config{URL: c.url(), Workers: 3}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if len(workers) != 3 {
		t.Fatalf("%d workers, want 3", len(workers))
	}
	for _, w := range workers {
		defer w.Close(context.Background())
	}
	var se *httpout.StatusError
	if err := workers[0].Write(t.Context(), engine.NewBatch(events(testStream("/a"), 0, 3))); !errors.As(err, &se) ||
		se.Code != http.StatusTooManyRequests {
		t.Fatalf("first worker: %v, want a 429", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := workers[1].Write(ctx, engine.NewBatch(events(testStream("/a"), 3, 3))); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second worker: %v, want it held back by the first worker's Retry-After until its context ended", err)
	}
	if n := len(c.requests()); n != 1 {
		t.Fatalf("%d requests, want only the first: the other workers must wait out the Retry-After", n)
	}
}
