package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine/enginetest"
	"github.com/flickerlog/flicker/sources/api"
	"github.com/flickerlog/flicker/sources/api/oktatest"
)

// tokenEndpoint is a minimal OAuth 2.0 token endpoint for the client credentials grant (RFC 6749 4.4): it checks
// the client's credentials and the scope, and hands out the access token set by issue. oktatest has no token
// endpoint, so this test keeps its own.
type tokenEndpoint struct {
	srv *httptest.Server

	mu       sync.Mutex
	token    string
	requests int
	scopes   []string
}

func startTokenEndpoint(t *testing.T, clientID, secret, token string) *tokenEndpoint {
	te := &tokenEndpoint{token: token}
	te.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		te.mu.Lock()
		defer te.mu.Unlock()
		te.requests++
		if err := r.ParseForm(); err != nil || r.Method != http.MethodPost ||
			r.PostForm.Get("grant_type") != "client_credentials" {
			http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
			return
		}
		id, sec, ok := r.BasicAuth()
		if !ok {
			id, sec = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		if id != clientID || sec != secret {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"client authentication failed"}`))
			return
		}
		te.scopes = strings.Fields(r.PostForm.Get("scope"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, te.token)
	}))
	t.Cleanup(te.srv.Close)
	return te
}

func (te *tokenEndpoint) issue(token string) {
	te.mu.Lock()
	te.token = token
	te.mu.Unlock()
}

func (te *tokenEndpoint) stats() (int, []string) {
	te.mu.Lock()
	defer te.mu.Unlock()
	return te.requests, te.scopes
}

// OAuth2 client credentials: the access token is fetched, cached, sent as Bearer, and fetched again after the
// API refuses it (revoked or rotated).
func TestOAuth2ClientCredentials(t *testing.T) {
	te := startTokenEndpoint(t, "client-1", "client-secret-1", "access-1")
	org := oktatest.Start(t, oktatest.Options{Token: "access-1", Bearer: true})
	want := org.Add(250)
	cfg := oktaConfigAuth(t, org.Endpoint(), api.Auth{OAuth2: &api.OAuth2Config{
		TokenURL: te.srv.URL + "/oauth2/v1/token", ClientID: "client-1", ClientSecret: "client-secret-1",
		Scopes: []string{"okta.logs.read"}}})
	log, logs := logger()
	src := newSource(t, newRegistry(), fastOptions(), log, cfg)
	sink := &recordSink{}
	run := start(t, src, sink)
	waitLen(t, sink, 250)
	if n, scopes := te.stats(); n != 1 || len(scopes) != 1 || scopes[0] != "okta.logs.read" {
		t.Fatalf("%d token requests with scopes %q: want one, cached", n, scopes)
	}
	// The org stops taking the cached token: the source gets a new one.
	te.issue("access-2")
	org.SetToken("access-2")
	want = append(want, org.Add(30)...)
	waitLen(t, sink, 280)
	if err := run.stop(t); err != nil {
		t.Fatal(err)
	}
	checkOnce(t, want, sink.ids())
	if n, _ := te.stats(); n < 2 {
		t.Fatalf("%d token requests: the refused token was not replaced", n)
	}
	if out := logs.String(); strings.Contains(out, "client-secret-1") || strings.Contains(out, "access-1") {
		t.Fatalf("a secret is in the logs:\n%s", out)
	}
}

// Refused client credentials are an authentication error naming the source, retried slowly, never a crash.
func TestOAuth2RefusedCredentials(t *testing.T) {
	te := startTokenEndpoint(t, "client-1", "the-right-secret", "access-1")
	org := oktatest.Start(t, oktatest.Options{Token: "access-1", Bearer: true})
	org.Add(5)
	cfg := oktaConfigAuth(t, org.Endpoint(), api.Auth{OAuth2: &api.OAuth2Config{TokenURL: te.srv.URL,
		ClientID: "client-1", ClientSecret: "a-wrong-secret"}})
	log, logs := logger()
	src := newSource(t, newRegistry(), fastOptions(), log, cfg)
	run := start(t, src, &recordSink{})
	enginetest.Eventually(t, time.Minute, func() bool { return src.Stats().AuthErrors >= 2 },
		"refused client credentials were not retried")
	if err := run.stop(t); err != nil {
		t.Fatal(err)
	}
	if org.Stats().Requests != 0 {
		t.Fatal("the API was called without a token")
	}
	out := logs.String()
	if strings.Contains(out, "a-wrong-secret") || !strings.Contains(out, "cannot authenticate") ||
		!strings.Contains(out, `"input":"okta-audit"`) {
		t.Fatalf("logs:\n%s", out)
	}
}
