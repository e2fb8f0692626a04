package httpout_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/flickerlog/flicker/internal/fielderr"
	httpout "github.com/flickerlog/flicker/sinks/http"
)

func TestValidate(t *testing.T) {
	const u = "https://logs.example.com/ingest"
	tests := []struct {
		name  string
		cfg   httpout.Config
		paths []string // fields named by the errors, in order
	}{
		{name: "minimal", cfg: httpout.Config{URL: u}},
		{name: "everything", cfg: httpout.Config{URL: "http://127.0.0.1:8080/x?tenant=a", Format: "json_array",
			Compression: "none", Headers: map[string]string{"X-Tenant": "a", "Host": "logs"},
			Auth: httpout.Auth{Username: "u", Password: "p"}, Timeout: time.Second, CAFile: "/ca.pem",
			InsecureSkipVerify: true, MaxRetryAfter: time.Minute}},
		{name: "bearer", cfg: httpout.Config{URL: u, Auth: httpout.Auth{BearerToken: "t"}}},
		{name: "basic without password", cfg: httpout.Config{URL: u, Auth: httpout.Auth{Username: "u"}},
			paths: []string{"auth.password"}},
		{name: "missing url", cfg: httpout.Config{}, paths: []string{"url"}},
		{name: "ftp url", cfg: httpout.Config{URL: "ftp://x/y"}, paths: []string{"url"}},
		{name: "url without host", cfg: httpout.Config{URL: "http:///x"}, paths: []string{"url"}},
		{name: "unparsable url", cfg: httpout.Config{URL: "http://a b:c@x/%zz"}, paths: []string{"url"}},
		{name: "credentials in url and auth", cfg: httpout.Config{URL: "https://u:p@x/",
			Auth: httpout.Auth{BearerToken: "t"}}, paths: []string{"url"}},
		{name: "format", cfg: httpout.Config{URL: u, Format: "csv"}, paths: []string{"format"}},
		{name: "compression", cfg: httpout.Config{URL: u, Compression: "zstd"}, paths: []string{"compression"}},
		{name: "negative timeout", cfg: httpout.Config{URL: u, Timeout: -1}, paths: []string{"timeout"}},
		{name: "negative max_retry_after", cfg: httpout.Config{URL: u, MaxRetryAfter: -1},
			paths: []string{"max_retry_after"}},
		{name: "bearer and basic", cfg: httpout.Config{URL: u, Auth: httpout.Auth{BearerToken: "t", Username: "u"}},
			paths: []string{"auth"}},
		{name: "password without username", cfg: httpout.Config{URL: u, Auth: httpout.Auth{Password: "p"}},
			paths: []string{"auth.username"}},
		{name: "bad header name", cfg: httpout.Config{URL: u, Headers: map[string]string{"X Bad": "v"}},
			paths: []string{"headers.X Bad"}},
		{name: "reserved header", cfg: httpout.Config{URL: u, Headers: map[string]string{"content-encoding": "br"}},
			paths: []string{"headers.content-encoding"}},
		{name: "idempotency header", cfg: httpout.Config{URL: u, Headers: map[string]string{"Idempotency-Key": "k"}},
			paths: []string{"headers.Idempotency-Key"}},
		{name: "authorization header and auth", cfg: httpout.Config{URL: u,
			Headers: map[string]string{"Authorization": "x"}, Auth: httpout.Auth{BearerToken: "t"}},
			paths: []string{"headers.Authorization"}},
		{name: "header value with a line break", cfg: httpout.Config{URL: u,
			Headers: map[string]string{"X-A": "a\r\nX-Injected: 1"}}, paths: []string{"headers.X-A"}},
		{name: "every problem", cfg: httpout.Config{Format: "x", Compression: "y", Timeout: -1, MaxRetryAfter: -1,
			Auth: httpout.Auth{Password: "p"}},
			paths: []string{"url", "format", "compression", "timeout", "max_retry_after", "auth.username"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			var got []string
			if err != nil {
				joined, ok := err.(interface{ Unwrap() []error })
				if !ok {
					t.Fatalf("error %v is not a joined list", err)
				}
				for _, e := range joined.Unwrap() {
					var fe *fielderr.Error
					if !errors.As(e, &fe) {
						t.Fatalf("%v is not a fielderr.Error", e)
					}
					got = append(got, fe.Path)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.paths, ",") {
				t.Errorf("errors on %v, want %v (%v)", got, tt.paths, err)
			}
			for _, secret := range []string{"p@", ":p", "\"t\"", "a b:c"} {
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Errorf("the error quotes a secret (%q): %v", secret, err)
				}
			}
		})
	}
}

func TestSetDefaults(t *testing.T) {
	cfg := httpout.Config{URL: "http://x"}
	cfg.SetDefaults()
	want := httpout.Config{URL: "http://x", Format: httpout.FormatNDJSON, Compression: httpout.CompressionGzip,
		Timeout: 30 * time.Second, MaxRetryAfter: 60 * time.Second, Workers: httpout.DefaultWorkers}
	if fmt.Sprint(cfg.Redacted()) != fmt.Sprint(want.Redacted()) {
		t.Errorf("defaults %v, want %v", cfg, want)
	}
	set := httpout.Config{Format: "json_array", Compression: "none", Timeout: time.Second, MaxRetryAfter: 2,
		Workers: 5}
	kept := set
	set.SetDefaults()
	if set.String() != kept.String() {
		t.Errorf("SetDefaults changed set fields: %v, want %v", set, kept)
	}
}

func TestConfigFromYAML(t *testing.T) {
	const doc = `
url: https://logs.example.com/ingest
format: json_array
compression: none
headers:
  X-Tenant: blue
auth:
  bearer_token: tok
timeout: 5s
ca_file: /etc/ssl/ca.pem
insecure_skip_verify: true
max_retry_after: 2m
`
	var cfg httpout.Config
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	want := httpout.Config{URL: "https://logs.example.com/ingest", Format: "json_array", Compression: "none",
		Headers: map[string]string{"X-Tenant": "blue"}, Auth: httpout.Auth{BearerToken: "tok"},
		Timeout: 5 * time.Second, CAFile: "/etc/ssl/ca.pem", InsecureSkipVerify: true, MaxRetryAfter: 2 * time.Minute}
	if cfg.String() != want.String() || cfg.Auth.BearerToken != "tok" {
		t.Errorf("decoded %v, want %v", cfg, want)
	}
}

func TestStringRedactsSecrets(t *testing.T) {
	cfg := httpout.Config{
		URL:     "https://user:urlpass@logs.example.com/ingest?api_key=querykey&tenant=blue",
		Headers: map[string]string{"X-Api-Key": "headerkey", "Authorization": "Bearer headertoken", "X-Tenant": "blue"},
		Auth:    httpout.Auth{Username: "ship", Password: "basicpass"},
	}
	bearer := httpout.Config{URL: "https://x", Auth: httpout.Auth{BearerToken: "bearertoken"}}
	for _, s := range []string{cfg.String(), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg),
		fmt.Sprintf("%v %+v %#v", bearer, bearer, bearer), fmt.Sprintf("%#v", cfg.Auth)} {
		for _, secret := range []string{"urlpass", "querykey", "headerkey", "headertoken", "basicpass", "bearertoken"} {
			if strings.Contains(s, secret) {
				t.Errorf("%q shows %s", s, secret)
			}
		}
	}
	s := cfg.String()
	for _, kept := range []string{"ship", "logs.example.com", `"X-Tenant": "blue"`} {
		if !strings.Contains(s, kept) {
			t.Errorf("%q lacks %s", s, kept)
		}
	}
	if cfg.Auth.Password != "basicpass" || cfg.Headers["X-Api-Key"] != "headerkey" {
		t.Error("Redacted modified the original configuration")
	}
}
