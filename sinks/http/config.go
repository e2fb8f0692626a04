package httpout

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/flickerlog/flicker/internal/redact"
)

// Config holds the settings of an output of type http (the config package handles type, name, retry and
// dead_letter).
type Config struct {
	URL         string            `yaml:"url"`         // http:// or https://, required
	Format      string            `yaml:"format"`      // FormatNDJSON (default) or FormatJSONArray
	Compression string            `yaml:"compression"` // CompressionGzip (default) or CompressionNone
	Headers     map[string]string `yaml:"headers"`     // added to every request
	Auth        Auth              `yaml:"auth"`
	// Timeout bounds one request, from connecting to reading the response.
	Timeout time.Duration `yaml:"timeout"`
	// CAFile is a PEM file of certificate authorities trusted in addition to the system's.
	CAFile             string `yaml:"ca_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	// MaxRetryAfter caps how long a server's Retry-After header can hold the output back.
	MaxRetryAfter time.Duration `yaml:"max_retry_after"`
	// Workers is how many requests are in flight at once, each batch encoded, compressed and sent by one worker.
	// Batches may then arrive out of order; 1 keeps them in order.
	Workers int `yaml:"workers"`
}

// Auth is bearer or basic authentication; at most one of the two.
type Auth struct {
	BearerToken string `yaml:"bearer_token"`
	Username    string `yaml:"username"`
	Password    string `yaml:"password"`
}

// Body formats and compressions.
const (
	FormatNDJSON    = "ndjson"     // one event per line, each line ending in \n
	FormatJSONArray = "json_array" // one JSON array of events
	CompressionGzip = "gzip"
	CompressionNone = "none"
)

// Defaults for unset fields.
const (
	DefaultFormat        = FormatNDJSON
	DefaultCompression   = CompressionGzip
	DefaultTimeout       = 30 * time.Second
	DefaultMaxRetryAfter = 60 * time.Second
	DefaultWorkers       = 2
	MaxWorkers           = 64
)

// redacted replaces secrets wherever a Config is shown.
const redacted = "REDACTED"

// Redacted returns a copy of c safe to print or log: the token, the password, the values of headers whose names
// suggest a secret, and the password and query values of the URL are replaced.
func (c Config) Redacted() Config {
	r := c
	r.URL = redactURL(c.URL)
	if r.Auth.BearerToken != "" {
		r.Auth.BearerToken = redacted
	}
	if r.Auth.Password != "" {
		r.Auth.Password = redacted
	}
	if c.Headers != nil {
		r.Headers = make(map[string]string, len(c.Headers))
		for k, v := range c.Headers {
			if redact.SecretName(k) {
				v = redacted
			}
			r.Headers[k] = v
		}
	}
	return r
}

// String renders the configuration with its secrets redacted.
func (c Config) String() string {
	r := c.Redacted()
	keys := make([]string, 0, len(r.Headers))
	for k := range r.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var h strings.Builder
	for i, k := range keys {
		if i > 0 {
			h.WriteString(", ")
		}
		fmt.Fprintf(&h, "%q: %q", k, r.Headers[k])
	}
	return fmt.Sprintf("url=%q format=%s compression=%s headers={%s} auth=%s timeout=%s ca_file=%q "+
		"insecure_skip_verify=%t max_retry_after=%s workers=%d", r.URL, r.Format, r.Compression, h.String(), r.Auth,
		r.Timeout, r.CAFile, r.InsecureSkipVerify, r.MaxRetryAfter, r.Workers)
}

// GoString is String, so that %#v does not print secrets either.
func (c Config) GoString() string { return "httpout.Config{" + c.String() + "}" }

// String names the kind of authentication without its secrets.
func (a Auth) String() string {
	switch {
	case a.BearerToken != "":
		return "bearer"
	case a.Username != "" || a.Password != "":
		return fmt.Sprintf("basic(username=%q)", a.Username)
	default:
		return "none"
	}
}

// GoString is String, so that %#v does not print secrets either.
func (a Auth) GoString() string { return "httpout.Auth{" + a.String() + "}" }

// redactURL hides the password of the URL's user info and every query value, which often carry API keys. A URL
// that does not parse is replaced as a whole.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return redacted
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), redacted)
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{redacted}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}
