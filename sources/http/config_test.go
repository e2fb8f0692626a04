package http_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/internal/fielderr"
	"github.com/flickerlog/flicker/internal/servertls"
	httpsrc "github.com/flickerlog/flicker/sources/http"
)

func TestConfigDefaults(t *testing.T) {
	c := httpsrc.Config{Name: "in", Address: ":8088"}
	c.SetDefaults()
	if len(c.Formats) != 4 || c.MaxBodyBytes != 10<<20 || c.AckTimeout != httpsrc.DefaultAckTimeout {
		t.Fatalf("defaults: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidateNamesTheField(t *testing.T) {
	for _, c := range []struct {
		name  string
		cfg   httpsrc.Config
		field string
		msg   string
	}{
		{"no address", httpsrc.Config{Name: "a"}, "address", "required"},
		{"no port", httpsrc.Config{Name: "a", Address: "localhost"}, "address", "host:port"},
		{"bad port", httpsrc.Config{Name: "a", Address: ":99999"}, "address", "port"},
		{"unknown format", httpsrc.Config{Name: "a", Address: ":1", Formats: []string{"ndjson", "gelf"}}, "formats[1]", "unknown format"},
		{"negative max body", httpsrc.Config{Name: "a", Address: ":1", MaxBodyBytes: -1}, "max_body_bytes", "between"},
		{"negative ack timeout", httpsrc.Config{Name: "a", Address: ":1", AckTimeout: -time.Second}, "ack_timeout", "positive"},
		{"token with a newline", httpsrc.Config{Name: "a", Address: ":1", AuthToken: "t\n"}, "auth_token", "line break"},
		{"tls without files", httpsrc.Config{Name: "a", Address: ":1", TLS: &servertls.Config{}}, "tls.cert_file", "required"},
		{"tls missing file", httpsrc.Config{Name: "a", Address: ":1", TLS: &servertls.Config{CertFile: "/nonexistent.pem", KeyFile: "/nonexistent.key"}}, "tls.cert_file", "nonexistent"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.SetDefaults()
			err := c.cfg.Validate()
			var fe *fielderr.Error
			if !errors.As(err, &fe) || fe.Path != c.field || !strings.Contains(fe.Error(), c.msg) {
				t.Fatalf("Validate() = %v, want an error at %s saying %q", err, c.field, c.msg)
			}
		})
	}
}

func TestMemoryBeyondQueue(t *testing.T) {
	if n := httpsrc.MemoryBeyondQueue(nil, 32<<20); n != 0 {
		t.Fatalf("without entries: %d, want 0", n)
	}
	cfgs := []httpsrc.Config{{MaxBodyBytes: 10 << 20}, {MaxBodyBytes: 1 << 20}}
	if n := httpsrc.MemoryBeyondQueue(cfgs, 32<<20); n != 32<<20+16<<20+4*(11<<20)+8*(10<<20)+64<<20 { // 8 bodies' worth of events; 64 MiB for the small bodies'
		t.Fatalf("MemoryBeyondQueue = %d, want the queue's bytes again, the free list's 16 MiB, 4 bodies per entry and 8 for their events (64 MiB at least)", n)
	}
}
