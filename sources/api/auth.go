package api

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// authorizer sets a request's credentials.
type authorizer struct {
	header string // a static Authorization value; empty with OAuth2 or no auth

	oauth  *clientcredentials.Config
	client *http.Client // for the token endpoint

	mu  sync.Mutex
	ts  oauth2.TokenSource // cached tokens; reset after a 401 so that a revoked token is not reused
	ctx context.Context    // the poller's: token requests end with it
}

func newAuthorizer(a Auth) *authorizer {
	z := &authorizer{}
	switch {
	case a.OktaToken != "":
		z.header = "SSWS " + a.OktaToken
	case a.BearerToken != "":
		z.header = "Bearer " + a.BearerToken
	case a.Basic != nil:
		z.header = "Basic " + base64.StdEncoding.EncodeToString([]byte(a.Basic.User+":"+a.Basic.Password))
	case a.OAuth2 != nil:
		z.oauth = &clientcredentials.Config{ClientID: a.OAuth2.ClientID, ClientSecret: a.OAuth2.ClientSecret,
			TokenURL: a.OAuth2.TokenURL, Scopes: a.OAuth2.Scopes}
	}
	return z
}

// start binds token requests to ctx and client (whose Timeout bounds each token request).
func (z *authorizer) start(ctx context.Context, client *http.Client) {
	z.mu.Lock()
	z.ctx, z.client, z.ts = ctx, client, nil
	z.mu.Unlock()
}

// errTokenEndpoint is a refusal by the OAuth2 token endpoint: bad client credentials or scopes.
var errTokenEndpoint = errors.New("the token endpoint refused the client credentials")

// authorize sets req's Authorization header. With OAuth2 it may request a token: an error wrapping
// errTokenEndpoint is a refusal (like a 401), another one a network or server failure.
func (z *authorizer) authorize(req *http.Request) error {
	if z.header != "" {
		req.Header.Set("Authorization", z.header)
		return nil
	}
	if z.oauth == nil {
		return nil
	}
	z.mu.Lock()
	if z.ts == nil {
		z.ts = z.oauth.TokenSource(context.WithValue(z.ctx, oauth2.HTTPClient, z.client))
	}
	ts := z.ts
	z.mu.Unlock()
	tok, err := ts.Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode >= 400 &&
			re.Response.StatusCode < 500 {
			return fmt.Errorf("%w (status %d %s)", errTokenEndpoint, re.Response.StatusCode, re.ErrorCode)
		}
		return fmt.Errorf("token request: %w", err)
	}
	tok.SetAuthHeader(req)
	return nil
}

// refused forgets a cached OAuth2 token after the API refused it.
func (z *authorizer) refused() {
	z.mu.Lock()
	z.ts = nil
	z.mu.Unlock()
}
