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

// A generic link_header API whose last page carries rel="next" pointing at itself (as Okta's polling pages do,
// okta-sdk-python#231). Once mode must end when the source has caught up; the next link never moves, and every
// item of the repeated page is a duplicate.
func TestSelfNextLinkOnceModeEnds(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		self := "http://" + r.Host + r.URL.RequestURI()
		w.Header().Add("Link", "<"+self+`>; rel="self"`)
		w.Header().Add("Link", "<"+self+`>; rel="next"`)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`[{"id":"a","time":"2024-01-01T00:00:00Z"},{"id":"b","time":"2024-01-01T00:00:01Z"}]`))
	}))
	defer srv.Close()
	cfg := valid(t, api.Config{Name: "self", Endpoint: srv.URL + "/logs", PollingFrequency: time.Second,
		TimePath: "time"})
	opts := fastOptions()
	opts.Once = true
	src := newSource(t, newRegistry(), opts, zerolog.Nop(), cfg)
	p := newPipeline(t, &recordSink{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := p.Run(ctx, []engine.Source{src})
	if ctx.Err() != nil {
		t.Fatalf("once mode did not end within 3s: %d requests of the same page (err %v, stats %+v)",
			requests.Load(), err, src.Stats())
	}
}

// The same API polled normally: one request per polling interval, not max_pages_per_poll back to back.
func TestSelfNextLinkNotRequestedBackToBack(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		self := "http://" + r.Host + r.URL.RequestURI()
		w.Header().Add("Link", "<"+self+`>; rel="next"`)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`[{"id":"a","time":"2024-01-01T00:00:00Z"}]`))
	}))
	defer srv.Close()
	cfg := valid(t, api.Config{Name: "self", Endpoint: srv.URL + "/logs", PollingFrequency: time.Hour,
		TimePath: "time"})
	src := newSource(t, newRegistry(), fastOptions(), zerolog.Nop(), cfg)
	sink := &recordSink{}
	run := start(t, src, sink)
	time.Sleep(500 * time.Millisecond)
	if err := run.stop(t); err != nil {
		t.Fatal(err)
	}
	if n := requests.Load(); n > 2 {
		t.Fatalf("%d requests of a page whose next link is itself within 0.5s, with a 1h polling interval", n)
	}
}

// A 429 without Retry-After nor rate headers, again and again: the waits must grow like other failures' do
// (BackoffInitial 20ms, BackoffMax 2s: at most ~8 requests in 1.5s), not hammer at BackoffInitial forever.
func Test429WithoutHeadersBacksOff(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	cfg := valid(t, api.Config{Name: "rl", Endpoint: srv.URL + "/logs", PollingFrequency: time.Second})
	opts := api.Options{AuthRetry: time.Second, BackoffInitial: 20 * time.Millisecond, BackoffMax: 2 * time.Second}
	src := newSource(t, newRegistry(), opts, zerolog.Nop(), cfg)
	run := start(t, src, &recordSink{})
	time.Sleep(1500 * time.Millisecond)
	if err := run.stop(t); err != nil {
		t.Fatal(err)
	}
	if n := requests.Load(); n > 15 {
		t.Fatalf("%d requests in 1.5s against a server answering only 429 (no Retry-After): no growing backoff", n)
	}
}

// Same as above in once mode: a persistent 429 must end Run with an error like other repeated failures.
func Test429OnceModeEnds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	cfg := valid(t, api.Config{Name: "rl", Endpoint: srv.URL + "/logs", PollingFrequency: time.Second})
	opts := fastOptions()
	opts.Once = true
	src := newSource(t, newRegistry(), opts, zerolog.Nop(), cfg)
	p := newPipeline(t, &recordSink{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = p.Run(ctx, []engine.Source{src})
	if ctx.Err() != nil {
		t.Fatalf("once mode against a server answering only 429 did not end within 3s: %+v", src.Stats())
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
