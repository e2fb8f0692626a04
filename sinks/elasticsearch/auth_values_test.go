package elasticsearch_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/flickerlog/flicker/internal/fielderr"
	"github.com/flickerlog/flicker/sinks/elasticsearch"
)

// TestValidateAuthValues: credentials that would fail every request (a line break or NUL, as a secret read from a
// file brings, or half of basic authentication) are refused naming the field, never quoting the value.
func TestValidateAuthValues(t *testing.T) {
	const secret = "s3cr3t"
	tests := []struct {
		name               string
		apiKey, user, pass string
		path, msg          string
	}{
		{"api key ending in a newline", "id:" + secret + "\n", "", "", "api_key",
			"ends with a line break: secrets read from files often do; strip it"},
		{"api key with a CR inside", "id:\r" + secret, "", "", "api_key", "line break or NUL"},
		{"api key with a space", "ApiKey " + secret, "", "", "api_key", "must not contain spaces"},
		{"password ending in CRLF", "", "elastic", secret + "\r\n", "password", "ends with a line break"},
		{"password with NUL", "", "elastic", "s3\x00cr3t", "password", "line break or NUL"},
		{"username ending in a newline", "", "elastic\n", secret, "username", "ends with a line break"},
		{"username without password", "", "elastic", "", "password", "required with username"},
		{"password without username", "", "", secret, "username", "required with password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := elasticsearch.Config{Hosts: []string{"https://es:9200"}, Index: "logs", APIKey: tt.apiKey,
				Username: tt.user, Password: tt.pass}
			err := c.Validate()
			joined, ok := err.(interface{ Unwrap() []error })
			if !ok {
				t.Fatalf("error %v, want one at %s", err, tt.path)
			}
			errs := joined.Unwrap()
			var fe *fielderr.Error
			if len(errs) != 1 || !errors.As(errs[0], &fe) || fe.Path != tt.path || !strings.Contains(fe.Err.Error(), tt.msg) {
				t.Fatalf("errors %v, want one at %s with %q", errs, tt.path, tt.msg)
			}
			if strings.Contains(err.Error(), "s3") {
				t.Fatalf("the error shows the value: %v", err)
			}
		})
	}
}
