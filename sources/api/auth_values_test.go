package api_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/flickerlog/flicker/internal/fielderr"
	"github.com/flickerlog/flicker/sources/api"
)

// TestValidateAuthValues: credentials that would fail every request (a line break or NUL, as a secret read from a
// file brings, or basic authentication without its password) are refused naming the field, never quoting the
// value.
func TestValidateAuthValues(t *testing.T) {
	const secret = "s3cr3t"
	oauth2 := func(id, secret string) *api.OAuth2Config {
		return &api.OAuth2Config{TokenURL: "https://idp.example.com/token", ClientID: id, ClientSecret: secret}
	}
	tests := []struct {
		name      string
		typ       string
		auth      api.Auth
		path, msg string
	}{
		{"okta token ending in a newline", "okta", api.Auth{OktaToken: secret + "\n"}, "auth.okta_token",
			"ends with a line break: secrets read from files often do; strip it"},
		{"bearer token ending in CRLF", "generic", api.Auth{BearerToken: secret + "\r\n"}, "auth.bearer_token",
			"ends with a line break"},
		{"bearer token with NUL", "generic", api.Auth{BearerToken: "s3\x00cr3t"}, "auth.bearer_token",
			"line break or NUL"},
		{"basic password ending in a newline", "generic", api.Auth{Basic: &api.BasicAuth{User: "u",
			Password: secret + "\n"}}, "auth.basic.password", "ends with a line break"},
		{"basic user with a LF inside", "generic", api.Auth{Basic: &api.BasicAuth{User: "u\nx", Password: secret}},
			"auth.basic.user", "line break or NUL"},
		{"basic without password", "generic", api.Auth{Basic: &api.BasicAuth{User: "u"}}, "auth.basic.password",
			"required with auth.basic.user"},
		{"basic without user", "generic", api.Auth{Basic: &api.BasicAuth{Password: secret}}, "auth.basic.user",
			"required with auth.basic.password"},
		{"basic empty", "generic", api.Auth{Basic: &api.BasicAuth{}}, "auth.basic.user", "required"},
		{"oauth2 client secret ending in a newline", "okta", api.Auth{OAuth2: oauth2("id", secret+"\n")},
			"auth.oauth2.client_secret", "ends with a line break"},
		{"oauth2 client id ending in a newline", "okta", api.Auth{OAuth2: oauth2("id\n", secret)},
			"auth.oauth2.client_id", "ends with a line break"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := api.Config{Name: "audit", Type: tt.typ, Endpoint: "https://x.example.com/api/v1/logs", Auth: tt.auth}
			c.SetDefaults()
			err := c.Validate()
			errs := unjoin(err)
			var fe *fielderr.Error
			if err == nil || len(errs) != 1 || !errors.As(errs[0], &fe) || fe.Path != tt.path ||
				!strings.Contains(fe.Err.Error(), tt.msg) {
				t.Fatalf("errors %v, want one at %s with %q", err, tt.path, tt.msg)
			}
			if strings.Contains(err.Error(), "s3") {
				t.Fatalf("the error shows the value: %v", err)
			}
		})
	}
}
