package httpout_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/flickerlog/flicker/internal/fielderr"
	httpout "github.com/flickerlog/flicker/sinks/http"
)

// TestValidateAuthValues: auth values that would fail every request (a line break or NUL, as a secret read from a
// file brings, or half of basic authentication) are refused naming the field, never quoting the value.
func TestValidateAuthValues(t *testing.T) {
	const secret = "s3cr3t"
	tests := []struct {
		name      string
		auth      httpout.Auth
		path, msg string
	}{
		{"bearer token ending in a newline", httpout.Auth{BearerToken: secret + "\n"}, "auth.bearer_token",
			"ends with a line break: secrets read from files often do; strip it"},
		{"bearer token ending in CRLF", httpout.Auth{BearerToken: secret + "\r\n"}, "auth.bearer_token",
			"ends with a line break"},
		{"bearer token with NUL", httpout.Auth{BearerToken: "s3\x00cr3t"}, "auth.bearer_token", "line break or NUL"},
		{"password ending in a newline", httpout.Auth{Username: "u", Password: secret + "\n"}, "auth.password",
			"ends with a line break"},
		{"username with a CR inside", httpout.Auth{Username: "u\rx", Password: secret}, "auth.username",
			"line break or NUL"},
		{"username without password", httpout.Auth{Username: "u"}, "auth.password", "required with auth.username"},
		{"password without username", httpout.Auth{Password: secret}, "auth.username",
			"required with auth.password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := (&httpout.Config{URL: "https://logs.example.com/ingest", Auth: tt.auth}).Validate()
			requireOneFieldError(t, err, tt.path, tt.msg)
			if strings.Contains(err.Error(), "s3") {
				t.Fatalf("the error shows the value: %v", err)
			}
		})
	}
	if err := (&httpout.Config{URL: "https://x/", Auth: httpout.Auth{BearerToken: secret}}).Validate(); err != nil {
		t.Fatalf("a clean token: %v", err)
	}
}

// requireOneFieldError checks that err holds exactly one fielderr error, at path, with msg in its message.
func requireOneFieldError(t *testing.T, err error, path, msg string) {
	t.Helper()
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %v, want one at %s", err, path)
	}
	errs := joined.Unwrap()
	var fe *fielderr.Error
	if len(errs) != 1 || !errors.As(errs[0], &fe) || fe.Path != path || !strings.Contains(fe.Err.Error(), msg) {
		t.Fatalf("errors %v, want one at %s with %q", errs, path, msg)
	}
}
