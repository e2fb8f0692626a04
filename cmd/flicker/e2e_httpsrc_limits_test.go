package main_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// downOutput is an http output's server that answers 503 while down, and records the bodies it took.
type downOutput struct {
	down   atomic.Bool
	mu     sync.Mutex
	bodies []string
}

func (d *downOutput) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	if d.down.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	d.mu.Lock()
	d.bodies = append(d.bodies, string(b))
	d.mu.Unlock()
}

// count is how many times s was delivered.
func (d *downOutput) count(s string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, b := range d.bodies {
		n += strings.Count(b, s)
	}
	return n
}

func downHTTPOutput(url string) string {
	return fmt.Sprintf("  - type: http\n    name: down\n    url: %q\n    compression: none\n    retry: {initial: 50ms, max: 100ms}\n", url)
}

// TestHTTPSourceStopIsBoundedByShutdownTimeout: SIGTERM while the output is down and a request waits for it:
// flicker answers that request 503 and exits 0 within --shutdown-timeout; the sender's retry after the restart is
// delivered. An ack_timeout that a stop could not wait for is refused at start, naming the field.
func TestHTTPSourceStopIsBoundedByShutdownTimeout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := &downOutput{}
	out.down.Store(true)
	srv := httptest.NewServer(out)
	defer srv.Close()
	addr := freeAddr(t)

	// 15s (the default) is not below the budget of a 4s --shutdown-timeout.
	refused := writeHTTPSourceConfig(t, dir, addr, "", downHTTPOutput(srv.URL))
	p := start(t, dir, "-c", refused, "--shutdown-timeout", "4s")
	if code := p.wait(30 * time.Second); code == 0 || !strings.Contains(p.logs(), "http_sources[0].ack_timeout") {
		t.Fatalf("ack_timeout 15s with --shutdown-timeout 4s: exit %d, want a refusal naming http_sources[0].ack_timeout; logs:\n%s", code, p.logs())
	}

	// --shutdown-timeout 8s leaves the sources 6.4s; requests still waiting at three quarters of it get 503.
	cfg := writeHTTPSourceConfig(t, dir, addr, "    ack_timeout: 6300ms\n", downHTTPOutput(srv.URL))
	metrics := freeAddr(t)
	p = start(t, dir, "-c", cfg, "--shutdown-timeout", "8s", "--http-addr", metrics)
	waitListening(t, addr, p)
	url := "http://" + addr + "/"
	answered := make(chan answer, 1)
	go func() {
		a, err := postTo(&http.Client{Timeout: time.Minute}, "POST", url, []byte(`{"message":"waiting at the stop"}`+"\n"),
			"X-Request-Id", "r1")
		if err != nil {
			a.status, a.body = -1, err.Error()
		}
		answered <- a
	}()
	waitFor(t, 30*time.Second, "the request to be queued", func() bool {
		return scrapeMetric(metrics, "flicker_input_events_total", `input="ingest",type="http"`) == 1
	}, p)
	sent := time.Now()
	p.stop()
	if took := time.Since(sent); took > 8*time.Second {
		t.Errorf("flicker took %s to stop, past --shutdown-timeout 8s", took)
	}
	a := <-answered
	if a.status != http.StatusServiceUnavailable || !strings.Contains(a.body, "stopping") || a.header.Get("Retry-After") == "" {
		t.Fatalf("the request waiting at the stop: %d %s, want 503 stopping with Retry-After", a.status, a.body)
	}

	// The sender retries after the restart, with the output back: delivered.
	out.down.Store(false)
	p = start(t, dir, "-c", cfg, "--shutdown-timeout", "8s")
	waitListening(t, addr, p)
	if a := mustPost(t, "POST", url, []byte(`{"message":"waiting at the stop"}`+"\n"), "X-Request-Id", "r1"); a.status != 200 {
		t.Fatalf("the retry: %d %s", a.status, a.body)
	}
	p.stop()
	if n := out.count("waiting at the stop"); n < 1 {
		t.Fatalf("the retried event was delivered %d times, want at least once", n)
	}
}

// TestHTTPSourceQueueFullAnswers429: with the queue full (the output down), a request gets 429 with Retry-After;
// the sender retries after Retry-After until it is taken, and once the output is back nothing is lost.
func TestHTTPSourceQueueFullAnswers429(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := &downOutput{}
	out.down.Store(true)
	srv := httptest.NewServer(out)
	defer srv.Close()
	addr := freeAddr(t)
	cfg := writeHTTPSourceConfig(t, dir, addr, "    ack_timeout: 2s\n", downHTTPOutput(srv.URL)+"queue:\n  max_events: 4\n")
	metrics := freeAddr(t)
	p := start(t, dir, "-c", cfg, "--http-addr", metrics)
	waitListening(t, addr, p)
	url := "http://" + addr + "/"
	client := &http.Client{Timeout: time.Minute}

	// The first request fills the queue and waits for the output (503 after ack_timeout: its events stay queued).
	first := make(chan answer, 1)
	go func() {
		a, _ := postTo(client, "POST", url, []byte("\"first 1\"\n\"first 2\"\n\"first 3\"\n"))
		first <- a
	}()
	waitFor(t, 30*time.Second, "the first request to be queued", func() bool {
		return scrapeMetric(metrics, "flicker_input_events_total", `input="ingest",type="http"`) == 3
	}, p)
	var refused answer
	waitFor(t, 30*time.Second, "a 429 while the queue is full", func() bool {
		a, err := postTo(client, "POST", url, []byte("\"second 1\"\n\"second 2\"\n"))
		refused = a
		return err == nil && a.status == http.StatusTooManyRequests
	}, p)
	if refused.header.Get("Retry-After") == "" {
		t.Fatalf("429 without Retry-After: %v", refused.header)
	}
	if a := <-first; a.status != http.StatusServiceUnavailable {
		t.Fatalf("the first request with the output down: %d %s, want 503 after ack_timeout", a.status, a.body)
	}

	// The output comes back; the sender retries the refused request after Retry-After until it is taken.
	out.down.Store(false)
	waitFor(t, 30*time.Second, "the retried request to be taken", func() bool {
		a, err := postTo(client, "POST", url, []byte("\"second 1\"\n\"second 2\"\n"))
		if err == nil && a.status == http.StatusTooManyRequests {
			time.Sleep(time.Second) // Retry-After: 1
		}
		return err == nil && a.status == http.StatusOK
	}, p)
	waitFor(t, 30*time.Second, "every event delivered", func() bool {
		for _, m := range []string{"first 1", "first 2", "first 3", "second 1", "second 2"} {
			if out.count(m) == 0 {
				return false
			}
		}
		return true
	}, p)
	p.stop()
}
