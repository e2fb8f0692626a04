package syslog_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/internal/fielderr"
	"github.com/flickerlog/flicker/internal/servertls"
	"github.com/flickerlog/flicker/sources/syslog"
)

func TestDefaults(t *testing.T) {
	c := syslog.Config{Name: "s", Address: ":5514"}
	c.SetDefaults()
	if c.Protocol != "tcp" || c.Format != "auto" || c.MaxMessageBytes != 65536 || c.Timezone != "UTC" || c.MaxConnections != 1024 || c.IdleTimeout != 0 {
		t.Fatalf("defaults: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	tests := []struct {
		name string
		cfg  syslog.Config
		path string // of the one error
		text string
	}{
		{"no address", syslog.Config{Name: "s"}, "address", "required"},
		{"address without port", syslog.Config{Name: "s", Address: "localhost"}, "address", "host:port"},
		{"port not a number", syslog.Config{Name: "s", Address: ":syslog"}, "address", "number"},
		{"unknown protocol", syslog.Config{Name: "s", Address: ":5514", Protocol: "sctp"}, "protocol", "tcp, udp or tls"},
		{"unknown format", syslog.Config{Name: "s", Address: ":5514", Format: "json"}, "format", "auto, rfc5424 or rfc3164"},
		{"tls without the block", syslog.Config{Name: "s", Address: ":5514", Protocol: "tls"}, "tls", "required with protocol: tls"},
		{"block without tls", syslog.Config{Name: "s", Address: ":5514", TLS: &servertls.Config{CertFile: "c", KeyFile: "k"}}, "tls", "only with protocol: tls"},
		{"tls files missing", syslog.Config{Name: "s", Address: ":5514", Protocol: "tls", TLS: &servertls.Config{CertFile: "/nonexistent.crt", KeyFile: "/nonexistent.key"}}, "tls.cert_file", "nonexistent"},
		{"tls key missing", syslog.Config{Name: "s", Address: ":5514", Protocol: "tls", TLS: &servertls.Config{CertFile: "/x.crt"}}, "tls.key_file", "required"},
		{"message bound too small", syslog.Config{Name: "s", Address: ":5514", MaxMessageBytes: 100}, "max_message_bytes", "between"},
		{"message bound too large", syslog.Config{Name: "s", Address: ":5514", MaxMessageBytes: 64 << 20}, "max_message_bytes", "between"},
		{"negative max_connections", syslog.Config{Name: "s", Address: ":5514", MaxConnections: -1}, "max_connections", "positive"},
		{"negative idle_timeout", syslog.Config{Name: "s", Address: ":5514", IdleTimeout: -time.Second}, "idle_timeout", "positive"},
		{"unknown zone", syslog.Config{Name: "s", Address: ":5514", Timezone: "Mars/Olympus"}, "timezone", "IANA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.SetDefaults()
			err := tt.cfg.Validate()
			var fe *fielderr.Error
			if !errors.As(err, &fe) || fe.Path != tt.path || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("err = %v, want one at %s containing %q", err, tt.path, tt.text)
			}
		})
	}
}

func TestMemoryBeyondQueue(t *testing.T) {
	if n := syslog.MemoryBeyondQueue(nil); n != 0 {
		t.Fatalf("without entries: %d, want 0", n)
	}
	tcp := syslog.Config{Name: "t", Address: ":1"}
	tcp.SetDefaults()
	one := syslog.MemoryBeyondQueue([]syslog.Config{tcp})
	// A connection: a read buffer of a frame, an arena of a frame, 1024 events (over 100 bytes each).
	if perConn := one / 1024; perConn < 2*65536+1024*100 || perConn > 2*65536+1024*300+32<<10 {
		t.Fatalf("%d bytes per connection", perConn)
	}
	tcp.MaxConnections = 2048
	if two := syslog.MemoryBeyondQueue([]syslog.Config{tcp}); two != 2*one {
		t.Fatalf("twice the connections: %d, want %d", two, 2*one)
	}
	udp := syslog.Config{Name: "u", Address: ":1", Protocol: "udp"}
	udp.SetDefaults()
	if n := syslog.MemoryBeyondQueue([]syslog.Config{udp}); n < 4<<20 || n > 8<<20 {
		t.Fatalf("a UDP listener: %d", n)
	}
}
