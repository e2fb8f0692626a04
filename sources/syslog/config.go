package syslog

import (
	"strings"
	"time"

	"github.com/flickerlog/flicker/internal/fielderr"
	"github.com/flickerlog/flicker/internal/listenaddr"
	"github.com/flickerlog/flicker/internal/servertls"
)

// Config is one entry of syslog_sources.
type Config struct {
	// Name identifies the input in events (input.name) and metrics.
	Name string `yaml:"name"`
	// Address is where to listen, host:port (":5514" on every interface).
	Address string `yaml:"address"`
	// Protocol is tcp (octet counting or newline framing, told apart per connection), udp (one message per
	// datagram) or tls (RFC 5425: octet counting inside TLS, with the tls block).
	Protocol string `yaml:"protocol"`
	// Format is rfc5424, rfc3164 or auto (RFC 5424 when the message starts with <PRI>VERSION, else RFC 3164).
	Format string `yaml:"format"`
	// MaxMessageBytes bounds one message: a longer TCP frame is cut there (log.flags: truncated), a longer UDP
	// datagram is dropped and counted (no datagram is longer than 65535 bytes: a larger bound changes nothing).
	MaxMessageBytes int `yaml:"max_message_bytes"`
	// Timezone is for RFC 3164 times, which carry no zone: an IANA name or Local. Default UTC.
	Timezone string `yaml:"timezone"`
	// MaxConnections bounds the TCP/TLS connections open at once; beyond it a new one is closed at once and
	// counted (flicker_input_rejected_total{reason="too_many_connections"}). Ignored with udp. Default 1024.
	MaxConnections int `yaml:"max_connections"`
	// IdleTimeout closes a TCP/TLS connection that sent nothing for this long; 0 (the default) never does:
	// senders such as rsyslog keep one connection open and may be quiet for hours, and the first message written
	// into a connection the receiver closed is lost (TCP syslog has no acknowledgement).
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// TLS is the server certificate (and client CAs for mutual TLS); required with protocol tls, refused
	// otherwise.
	TLS *servertls.Config `yaml:"tls"`
}

// Protocols and formats.
const (
	ProtocolTCP = "tcp"
	ProtocolUDP = "udp"
	ProtocolTLS = "tls"

	FormatAuto    = "auto"
	FormatRFC5424 = "rfc5424"
	FormatRFC3164 = "rfc3164"
)

// Defaults for syslog_sources entries.
const (
	DefaultProtocol        = ProtocolTCP
	DefaultFormat          = FormatAuto
	DefaultMaxMessageBytes = 64 << 10
	DefaultTimezone        = "UTC"
	DefaultMaxConnections  = 1024
	// maxMaxMessageBytes is the largest max_message_bytes: a UDP datagram holds at most 65507 bytes, and TCP
	// frames beyond 16 MiB are a sender's bug rather than a log message.
	maxMaxMessageBytes = 16 << 20
	// minMaxMessageBytes: RFC 5424 section 6.1 asks receivers to take at least 480 bytes (2048 should).
	minMaxMessageBytes = 480
)

// SetDefaults fills unset fields and lower-cases the enumerations.
func (c *Config) SetDefaults() {
	c.Protocol = strings.ToLower(strings.TrimSpace(c.Protocol))
	if c.Protocol == "" {
		c.Protocol = DefaultProtocol
	}
	c.Format = strings.ToLower(strings.TrimSpace(c.Format))
	if c.Format == "" {
		c.Format = DefaultFormat
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.Timezone == "" {
		c.Timezone = DefaultTimezone
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
}

// Validate checks the entry (after SetDefaults) without listening, and returns every problem as fielderr errors
// with paths relative to the entry. Uniqueness of names across inputs is the caller's.
func (c *Config) Validate() error {
	var errs []error
	add := func(path, format string, args ...any) { errs = append(errs, fielderr.New(path, format, args...)) }
	if strings.TrimSpace(c.Name) == "" {
		add("name", "required: it names the input in events and metrics")
	}
	if err := listenaddr.Check(c.Address, ":5514"); err != nil {
		add("address", "%v", err)
	}
	switch c.Protocol {
	case ProtocolTCP, ProtocolUDP:
		if c.TLS != nil {
			add("tls", "only with protocol: tls (protocol is %s): remove the block or set protocol: tls", c.Protocol)
		}
	case ProtocolTLS:
		if c.TLS == nil {
			add("tls", "required with protocol: tls: set cert_file and key_file")
		} else if err := c.TLS.Validate(); err != nil {
			errs = append(errs, fielderr.Prefix("tls", err))
		}
	default:
		add("protocol", "must be tcp, udp or tls, not %q", c.Protocol)
	}
	switch c.Format {
	case FormatAuto, FormatRFC5424, FormatRFC3164:
	default:
		add("format", "must be auto, rfc5424 or rfc3164, not %q", c.Format)
	}
	if c.MaxMessageBytes < minMaxMessageBytes || c.MaxMessageBytes > maxMaxMessageBytes {
		add("max_message_bytes", "must be between %d and %d, not %d", minMaxMessageBytes, maxMaxMessageBytes, c.MaxMessageBytes)
	}
	if c.MaxConnections < 0 {
		add("max_connections", "must be positive, not %d", c.MaxConnections)
	}
	if c.IdleTimeout < 0 {
		add("idle_timeout", "must be positive (or 0: never), not %s", c.IdleTimeout)
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		add("timezone", "unknown time zone %q: use an IANA name such as Europe/Paris, or Local", c.Timezone)
	}
	return fielderr.Join(errs...)
}
