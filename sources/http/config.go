package http

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flickerlog/flicker/internal/credential"
	"github.com/flickerlog/flicker/internal/fielderr"
	"github.com/flickerlog/flicker/internal/listenaddr"
	"github.com/flickerlog/flicker/internal/servertls"
)

// Config is one entry of http_sources: a listener receiving events over HTTP.
type Config struct {
	Name string `yaml:"name"`
	// Address is where to listen, host:port (":8088" for every interface).
	Address string `yaml:"address"`
	// Formats are the request formats served (FormatNDJSON, FormatJSONArray, FormatBulk, FormatHEC); empty:
	// all of them. The endpoints of a format left out answer 404.
	Formats []string `yaml:"formats"`
	// AuthToken, when set, is required on every request: `Authorization: Bearer <t>`; `Splunk <t>` on the HEC
	// endpoints; the basic-auth password or `ApiKey <t>` (or base64 of id:<t>) on the Elasticsearch ones.
	AuthToken string `yaml:"auth_token"`
	// MaxBodyBytes caps a request body, compressed and decompressed alike: above it the answer is 413.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// AckTimeout is how long a request waits for every output to be done with its events before the answer is
	// 503 with Retry-After (the events stay queued and are delivered; the sender's retry sends them again).
	// It must be below the stop's budget (Source.SetStopTimeout: --shutdown-timeout less the time to close the
	// outputs); at a stop, requests still waiting at three quarters of that budget are answered 503.
	AckTimeout time.Duration `yaml:"ack_timeout"`
	// FieldsUnderRoot puts the members of the sender's JSON document at the top of the event instead of under
	// "fields"; members named like the event's own keys are then left out (see doc.go).
	FieldsUnderRoot bool `yaml:"fields_under_root"`
	// TLS, when set, serves HTTPS; with client_ca_file, clients must present a certificate (mutual TLS).
	TLS *servertls.Config `yaml:"tls"`
}

// Formats of Config.Formats.
const (
	FormatNDJSON    = "ndjson"             // POST /: one JSON value per line
	FormatJSONArray = "json_array"         // POST / with a body starting with '[': one JSON array
	FormatBulk      = "elasticsearch_bulk" // POST /_bulk, POST /<index>/_bulk and the node endpoints clients check
	FormatHEC       = "splunk_hec"         // /services/collector/event, /raw and /health
)

var allFormats = []string{FormatNDJSON, FormatJSONArray, FormatBulk, FormatHEC}

// Defaults of Config.
const (
	DefaultMaxBodyBytes = 10 << 20
	DefaultAckTimeout   = 15 * time.Second
	// maxMaxBodyBytes keeps every offset into a body within an int32.
	maxMaxBodyBytes = 1 << 30
)

// SetDefaults fills unset fields with their defaults and normalises the formats to lower case.
func (c *Config) SetDefaults() {
	if len(c.Formats) == 0 {
		c.Formats = append([]string(nil), allFormats...)
	}
	for i, f := range c.Formats {
		c.Formats[i] = strings.ToLower(strings.TrimSpace(f))
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.AckTimeout == 0 {
		c.AckTimeout = DefaultAckTimeout
	}
}

// Validate checks the configuration (after SetDefaults) and returns every problem as fielderr errors with paths
// relative to the entry. It reads the TLS files but opens no listener; uniqueness of names and addresses across
// entries is the caller's.
func (c *Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.Name) == "" {
		errs = append(errs, fielderr.New("name", "required: it names the input in events and metrics"))
	}
	if err := listenaddr.Check(c.Address, ":8088"); err != nil {
		errs = append(errs, fielderr.New("address", "%v", err))
	}
	seen := map[string]bool{}
	for i, f := range c.Formats {
		switch {
		case !isFormat(f):
			errs = append(errs, fielderr.New("formats["+strconv.Itoa(i)+"]", "unknown format %q (known: %s)", f,
				strings.Join(allFormats, ", ")))
		case seen[f]:
			errs = append(errs, fielderr.New("formats["+strconv.Itoa(i)+"]", "%s is listed twice", f))
		}
		seen[f] = true
	}
	if c.MaxBodyBytes < 0 || c.MaxBodyBytes > maxMaxBodyBytes {
		errs = append(errs, fielderr.New("max_body_bytes", "must be between 1 and %d, not %d", maxMaxBodyBytes, c.MaxBodyBytes))
	}
	if c.AckTimeout < 0 {
		errs = append(errs, fielderr.New("ack_timeout", "must be positive, not %s", c.AckTimeout))
	}
	errs = append(errs, credential.Check(credential.Field{Path: "auth_token", Value: c.AuthToken})...)
	if c.TLS != nil {
		if err := c.TLS.Validate(); err != nil {
			errs = append(errs, fielderr.Prefix("tls", err))
		}
	}
	return fielderr.Join(errs...)
}

func isFormat(f string) bool { return slices.Contains(allFormats, f) }

// MemoryBeyondQueue is what the entries may hold in memory besides the bytes the queue counts (queueBytes at
// most): the spare capacity of the bodies behind queued events (the queue counts every byte of a body, the ones
// no event references included, but not the room its buffer grew beyond them: at most as much again), and the
// requests being read and parsed (inflightBudget and parsingBudget per entry). cmd/flicker adds it to the memory
// limit. Zero without entries.
func MemoryBeyondQueue(cfgs []Config, queueBytes int64) int64 {
	if len(cfgs) == 0 {
		return 0
	}
	n := queueBytes + freeBytes
	for _, c := range cfgs {
		n += inflightBudget(c.MaxBodyBytes) + parsingBudget(c.MaxBodyBytes)
	}
	return n
}
