package credential_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/flickerlog/flicker/internal/credential"
	"github.com/flickerlog/flicker/internal/fielderr"
)

const secret = "s3cr3t-value"

func TestCheck(t *testing.T) {
	tests := []struct {
		name, value string
		msg         string // "" for no error
	}{
		{"plain", secret, ""},
		{"empty", "", ""},
		{"spaces are the API's business", "ApiKey " + secret, ""},
		{"trailing LF", secret + "\n", "ends with a line break: secrets read from files often do; strip it"},
		{"trailing CRLF", secret + "\r\n", "ends with a line break"},
		{"two trailing LFs", secret + "\n\n", "ends with a line break"},
		{"LF inside", "s3cr\n3t", "contains a line break or NUL"},
		{"CR inside", "s3cr\r3t", "contains a line break or NUL"},
		{"NUL", secret + "\x00", "contains a line break or NUL"},
		{"NUL before a trailing LF", secret + "\x00\n", "contains a line break or NUL"},
		{"only a newline", "\n", "ends with a line break"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := credential.Check(credential.Field{Path: "auth.bearer_token", Value: tt.value})
			if tt.msg == "" {
				if len(errs) != 0 {
					t.Fatalf("errors %v, want none", errs)
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("errors %v, want one", errs)
			}
			var fe *fielderr.Error
			if !errors.As(errs[0], &fe) || fe.Path != "auth.bearer_token" || !strings.Contains(fe.Err.Error(), tt.msg) {
				t.Fatalf("error %v, want one at auth.bearer_token with %q", errs[0], tt.msg)
			}
			if strings.Contains(errs[0].Error(), "s3cr") {
				t.Fatalf("the error shows the value: %v", errs[0])
			}
		})
	}
	if errs := credential.Check(credential.Field{Path: "a", Value: "x\n"}, credential.Field{Path: "b", Value: "y"},
		credential.Field{Path: "c", Value: "\rz"}); len(errs) != 2 {
		t.Fatalf("errors %v, want one for a and one for c", errs)
	}
}

func TestPair(t *testing.T) {
	tests := []struct {
		name, user, password string
		path                 string // the field named by the error; "" for none
	}{
		{"both", "u", "p", ""},
		{"neither", "", "", ""},
		{"user alone", "u", "", "auth.password"},
		{"password alone", "", "p", "auth.username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := credential.Pair(credential.Field{Path: "auth.username", Value: tt.user},
				credential.Field{Path: "auth.password", Value: tt.password})
			if tt.path == "" {
				if len(errs) != 0 {
					t.Fatalf("errors %v, want none", errs)
				}
				return
			}
			var fe *fielderr.Error
			if len(errs) != 1 || !errors.As(errs[0], &fe) || fe.Path != tt.path ||
				!strings.Contains(fe.Err.Error(), "required with") {
				t.Fatalf("errors %v, want one at %s", errs, tt.path)
			}
		})
	}
}
