package elasticsearch

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Config holds the settings of an output of type elasticsearch (the config package handles type, name, retry and
// dead_letter).
type Config struct {
	// Hosts are the base URLs of the cluster's nodes (http or https, optionally with a path prefix). Requests go
	// round-robin over them; a host that fails is skipped for a while and its request tried on the next one.
	Hosts []string `yaml:"hosts"`
	// Index is the index, alias or data stream to write to: a name, or a name with a date pattern such as
	// "logs-%{+yyyy.MM.dd}" evaluated on each event's @timestamp in UTC.
	Index string `yaml:"index"`
	// OpType is the bulk action: "index" (a replay overwrites the document with the same _id) or "create"
	// (required by data streams; a replay answers 409, which counts as accepted).
	OpType string `yaml:"op_type"`
	// Compression of request bodies: "gzip" or "none".
	Compression string `yaml:"compression"`
	// APIKey is an Elasticsearch API key, either "id:key" or the base64 "encoded" form the API returns. Exclusive
	// with Username and Password.
	APIKey   string `yaml:"api_key"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// BulkMaxBytes caps the uncompressed body of one _bulk request; a larger batch is sent as several requests.
	// One event larger than the cap is sent alone.
	BulkMaxBytes int64 `yaml:"bulk_max_bytes"`
	// Timeout bounds one request, from connecting to reading the whole response.
	Timeout            time.Duration     `yaml:"timeout"`
	CAFile             string            `yaml:"ca_file"`
	InsecureSkipVerify bool              `yaml:"insecure_skip_verify"`
	Headers            map[string]string `yaml:"headers"`
	// Workers is how many _bulk requests are in flight at once, each batch encoded, compressed and sent by one
	// worker. Replays stay idempotent per _id whatever the order.
	Workers int `yaml:"workers"`
}

// Defaults for unset fields.
const (
	DefaultOpType       = OpIndex
	DefaultCompression  = CompressionGzip
	DefaultBulkMaxBytes = 5 << 20
	DefaultTimeout      = 30 * time.Second
	DefaultWorkers      = 2
	MaxWorkers          = 64
)

// Values of OpType and Compression.
const (
	OpIndex         = "index"
	OpCreate        = "create"
	CompressionGzip = "gzip"
	CompressionNone = "none"
)

// redacted stands for a secret in String.
const redacted = "[redacted]"

// SetDefaults fills unset fields with their defaults.
func (c *Config) SetDefaults() {
	if c.OpType == "" {
		c.OpType = DefaultOpType
	}
	if c.Compression == "" {
		c.Compression = DefaultCompression
	}
	if c.BulkMaxBytes == 0 {
		c.BulkMaxBytes = DefaultBulkMaxBytes
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Workers == 0 {
		c.Workers = DefaultWorkers
	}
}

// String renders the configuration for logs and `flicker validate` with the API key, the password and every
// header value replaced by "[redacted]": header values often carry tokens.
func (c Config) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "{hosts:%q index:%q op_type:%q compression:%q api_key:%s username:%q password:%s "+
		"bulk_max_bytes:%d timeout:%s workers:%d ca_file:%q insecure_skip_verify:%t headers:{",
		redactHosts(c.Hosts), c.Index, c.OpType, c.Compression, secret(c.APIKey), c.Username, secret(c.Password),
		c.BulkMaxBytes, c.Timeout, c.Workers, c.CAFile, c.InsecureSkipVerify)
	names := make([]string, 0, len(c.Headers))
	for name := range c.Headers {
		names = append(names, name)
	}
	slices.Sort(names)
	for i, name := range names {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%q:%s", name, secret(c.Headers[name]))
	}
	b.WriteString("}}")
	return b.String()
}

// GoString is String, so that %#v redacts too.
func (c Config) GoString() string { return "elasticsearch.Config" + c.String() }

// redactHosts hides passwords in host URLs, which Validate refuses but String may be asked to show.
func redactHosts(hosts []string) []string {
	out := make([]string, len(hosts))
	for i, h := range hosts {
		out[i] = h
		if u, err := url.Parse(h); err == nil && u.User != nil {
			out[i] = u.Redacted()
		} else if err != nil && strings.Contains(h, "@") {
			out[i] = redacted
		}
	}
	return out
}

// secret shows whether a secret is set without showing it.
func secret(s string) string {
	if s == "" {
		return `""`
	}
	return redacted
}
