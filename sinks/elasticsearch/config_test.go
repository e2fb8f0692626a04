package elasticsearch_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/internal/fielderr"
	"github.com/flickerlog/flicker/sinks/elasticsearch"
)

func TestDefaults(t *testing.T) {
	var c elasticsearch.Config
	c.SetDefaults()
	if c.OpType != "index" || c.Compression != "gzip" || c.BulkMaxBytes != 5<<20 || c.Timeout != 30*time.Second {
		t.Fatalf("defaults %v", c)
	}
}

func TestValidate(t *testing.T) {
	valid := func() elasticsearch.Config {
		return elasticsearch.Config{Hosts: []string{"https://es1:9200", "https://es2:9200/prefix"},
			Index: "logs-%{+yyyy.MM.dd}"}
	}
	if err := func() error { c := valid(); return c.Validate() }(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	tests := []struct {
		name   string
		change func(c *elasticsearch.Config)
		path   string
		msg    string
	}{
		{"no hosts", func(c *elasticsearch.Config) { c.Hosts = nil }, "hosts", "required"},
		{"bad scheme", func(c *elasticsearch.Config) { c.Hosts[1] = "ftp://es" }, "hosts[1]", "http:// or https://"},
		{"no host", func(c *elasticsearch.Config) { c.Hosts[0] = "http://" }, "hosts[0]", "no host"},
		{"query", func(c *elasticsearch.Config) { c.Hosts[0] = "http://es:9200/?pretty" }, "hosts[0]", "query"},
		{"credentials", func(c *elasticsearch.Config) { c.Hosts[0] = "https://user:hunter2@es:9200" }, "hosts[0]",
			"credentials in the URL"},
		{"credentials without scheme", func(c *elasticsearch.Config) { c.Hosts[0] = "user:hunter2@es:9200" },
			"hosts[0]", "must be an http"},
		{"unparsable with credentials", func(c *elasticsearch.Config) { c.Hosts[0] = "https://u:hunter2@es:x" },
			"hosts[0]", "not a URL"},
		{"duplicate", func(c *elasticsearch.Config) { c.Hosts[1] = c.Hosts[0] }, "hosts[1]", "twice"},
		{"no index", func(c *elasticsearch.Config) { c.Index = "" }, "index", "required"},
		{"upper-case index", func(c *elasticsearch.Config) { c.Index = "Logs" }, "index", "lower case"},
		{"unknown placeholder", func(c *elasticsearch.Config) { c.Index = "logs-%{input}" }, "index", "placeholder"},
		{"op type", func(c *elasticsearch.Config) { c.OpType = "update" }, "op_type", "index or create"},
		{"compression", func(c *elasticsearch.Config) { c.Compression = "zstd" }, "compression", "gzip or none"},
		{"api key and basic", func(c *elasticsearch.Config) { c.APIKey, c.Username, c.Password = "k:v", "u", "p" },
			"api_key", "not both"},
		{"username alone", func(c *elasticsearch.Config) { c.Username = "u" }, "password", "required with username"},
		{"password alone", func(c *elasticsearch.Config) { c.Password = "p" }, "username", "required with password"},
		{"api key with space", func(c *elasticsearch.Config) { c.APIKey = "ApiKey abc" }, "api_key", "spaces"},
		{"negative bulk size", func(c *elasticsearch.Config) { c.BulkMaxBytes = -1 }, "bulk_max_bytes", "size in bytes"},
		{"negative timeout", func(c *elasticsearch.Config) { c.Timeout = -time.Second }, "timeout", "negative"},
		{"reserved header", func(c *elasticsearch.Config) { c.Headers = map[string]string{"content-type": "x"} },
			"headers.content-type", "set by the output"},
		{"authorization with api key", func(c *elasticsearch.Config) {
			c.APIKey = "k:v"
			c.Headers = map[string]string{"Authorization": "Bearer x"}
		}, "headers.Authorization", "conflicts"},
		{"bad header name", func(c *elasticsearch.Config) { c.Headers = map[string]string{"X Bad": "x"} },
			"headers.X Bad", "not a valid header name"},
		{"header with newline", func(c *elasticsearch.Config) { c.Headers = map[string]string{"X-A": "a\nb"} },
			"headers.X-A", "line breaks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.change(&c)
			err := c.Validate()
			var fe *fielderr.Error
			if !errors.As(err, &fe) || fe.Path != tt.path || !strings.Contains(fe.Error(), tt.msg) {
				t.Fatalf("error %v, want one at %s with %q", err, tt.path, tt.msg)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the error shows the password: %v", err)
			}
			if _, err := elasticsearch.New(c, zerolog.Nop()); err == nil {
				t.Fatal("New accepted the invalid config")
			}
		})
	}
}

// TestSecretsRedacted: no way of printing a Config shows its secrets.
func TestSecretsRedacted(t *testing.T) {
	c := elasticsearch.Config{Hosts: []string{"https://es:9200", "https://u:urlsecret@es2"}, Index: "logs",
		APIKey:   "k1:apikeysecret",
		Username: "shipper", Password: "passwordsecret", Headers: map[string]string{"X-Token": "headersecret"}}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(f, c) + fmt.Sprintf(f, &c)
		for _, secret := range []string{"apikeysecret", "passwordsecret", "headersecret", "urlsecret"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s shows %s: %s", f, secret, out)
			}
		}
		if !strings.Contains(out, "shipper") || !strings.Contains(out, "X-Token") || !strings.Contains(out, "[redacted]") {
			t.Errorf("%s hides too much: %s", f, out)
		}
	}
}

func TestNewReadsCAFile(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, ca := range []string{filepath.Join(dir, "missing.pem"), notPEM} {
		_, err := elasticsearch.New(elasticsearch.Config{Hosts: []string{"https://es:9200"}, Index: "logs",
			CAFile: ca}, zerolog.Nop())
		if err == nil || !strings.Contains(err.Error(), "ca_file") {
			t.Errorf("ca_file %s: error %v", ca, err)
		}
	}
}
