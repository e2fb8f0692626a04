package api_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/sources/api"
)

// selfLinkServer answers every request with the same page, whose rel="next" link is the request's own URL (as
// Okta's polling pages do, okta-sdk-python#231), counting the requests.
func selfLinkServer(t *testing.T, requests *atomic.Int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		self := "http://" + r.Host + r.URL.RequestURI()
		w.Header().Add("Link", "<"+self+`>; rel="self"`)
		w.Header().Add("Link", "<"+self+`>; rel="next"`)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`[{"id":"a","time":"2024-01-01T00:00:00Z"},{"id":"b","time":"2024-01-01T00:00:01Z"}]`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// tooManyRequests answers every request 429 without Retry-After or rate limit headers, counting the requests.
func tooManyRequests(t *testing.T, requests *atomic.Int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// endsWithin runs cfg's source in once mode and reports whether Run returned within d.
func endsWithin(t *testing.T, cfg api.Config, d time.Duration) bool {
	opts := fastOptions()
	opts.Once = true
	src := newSource(t, newRegistry(), opts, zerolog.Nop(), cfg)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_ = newPipeline(t, &recordSink{}).Run(ctx, []engine.Source{src})
	return ctx.Err() == nil
}

// runFor runs cfg's source with opts, following, for d.
func runFor(t *testing.T, cfg api.Config, opts api.Options, d time.Duration) {
	run := start(t, newSource(t, newRegistry(), opts, zerolog.Nop(), cfg), &recordSink{})
	time.Sleep(d)
	if err := run.stop(t); err != nil {
		t.Fatal(err)
	}
}

// A generic link_header API whose page's next link points at itself: the cursor does not move, so nothing more is
// waiting. Once mode ends when caught up, and polling requests the page once per interval, not
// max_pages_per_poll times back to back.
func TestSelfNextLinkEndsTheWalk(t *testing.T) {
	var requests atomic.Int64
	srv := selfLinkServer(t, &requests)
	cfg := valid(t, api.Config{Name: "self", Endpoint: srv.URL + "/logs", PollingFrequency: time.Second,
		TimePath: "time"})
	if !endsWithin(t, cfg, 3*time.Second) {
		t.Fatalf("once mode did not end within 3s: %d requests of the same page", requests.Load())
	}
	requests.Store(0)
	cfg.PollingFrequency = time.Hour
	runFor(t, cfg, fastOptions(), 500*time.Millisecond)
	if n := requests.Load(); n > 2 {
		t.Fatalf("%d requests of a page whose next link is itself within 0.5s, with a 1h polling interval", n)
	}
}

// A 429 without Retry-After or rate headers, again and again: the waits grow as after other failures
// (BackoffInitial 20ms, BackoffMax 2s: about 8 requests in 1.5s), not at BackoffInitial forever, and once mode
// ends with an error as after other repeated failures.
func Test429WithoutResetBacksOff(t *testing.T) {
	var requests atomic.Int64
	srv := tooManyRequests(t, &requests)
	cfg := valid(t, api.Config{Name: "rl", Endpoint: srv.URL + "/logs", PollingFrequency: time.Second})
	runFor(t, cfg, api.Options{AuthRetry: time.Second, BackoffInitial: 20 * time.Millisecond,
		BackoffMax: 2 * time.Second}, 1500*time.Millisecond)
	if n := requests.Load(); n > 15 {
		t.Fatalf("%d requests in 1.5s against a server answering only 429 (no Retry-After): no growing backoff", n)
	}
	if !endsWithin(t, cfg, 3*time.Second) {
		t.Fatal("once mode against a server answering only 429 did not end within 3s")
	}
}

// A server that echoes the request's Authorization header in its 401 body: with basic auth, the header is
// base64(user:password), which the logs must not show.
func TestBasicAuthEchoNotLogged(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"bad credentials","authorization":"` + r.Header.Get("Authorization") + `"}`))
	}))
	defer srv.Close()
	const user, password = "svc-audit", "Correct-Horse-Battery-Staple-42"
	cfg := valid(t, api.Config{Name: "basic", Endpoint: srv.URL + "/logs", PollingFrequency: time.Second,
		Auth: api.Auth{Basic: &api.BasicAuth{User: user, Password: password}}})
	log, logs := logger()
	opts := fastOptions()
	opts.Once = true
	_ = runOnce(t, newSource(t, newRegistry(), opts, log, cfg), &recordSink{})
	enc := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	if out := logs.String(); strings.Contains(out, enc) {
		t.Fatalf("the basic credentials are in the logs (base64 of user:password):\n%s", out)
	}
}

// A 401 body that echoes the token just across the 512-byte cut of the logged body: the part before the cut
// must not be logged either.
func TestSecretAtTruncationBoundaryNotLogged(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		pad := strings.Repeat("x", 512-20)
		_, _ = w.Write([]byte(pad + r.Header.Get("Authorization")))
	}))
	defer srv.Close()
	cfg := valid(t, api.Config{Name: "cut", Endpoint: srv.URL + "/logs", PollingFrequency: time.Second,
		Auth: api.Auth{BearerToken: token}})
	log, logs := logger()
	opts := fastOptions()
	opts.Once = true
	_ = runOnce(t, newSource(t, newRegistry(), opts, log, cfg), &recordSink{})
	if out := logs.String(); strings.Contains(out, token[:10]) {
		t.Fatalf("a part of the token is in the logs:\n%s", out)
	}
}

// The OAuth2 access token the source obtained, echoed by the API in an error body, is logged as it is.
func TestOAuth2AccessTokenEchoNotLogged(t *testing.T) {
	const access = "eyJraWQiOiJ-access-token-value-0123456789"
	te := startTokenEndpoint(t, "client-id", "client-secret-value", access)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"error":"insufficient scope","authorization":"` + r.Header.Get("Authorization") + `"}`))
	}))
	defer srv.Close()
	cfg := valid(t, api.Config{Name: "oauth", Endpoint: srv.URL + "/logs", PollingFrequency: time.Second,
		Auth: api.Auth{OAuth2: &api.OAuth2Config{TokenURL: te.srv.URL, ClientID: "client-id",
			ClientSecret: "client-secret-value"}}})
	log, logs := logger()
	opts := fastOptions()
	opts.Once = true
	_ = runOnce(t, newSource(t, newRegistry(), opts, log, cfg), &recordSink{})
	if out := logs.String(); strings.Contains(out, access) {
		t.Fatalf("the OAuth2 access token is in the logs:\n%s", out)
	}
}
