package httpout

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/flickerlog/flicker/internal/credential"
	"github.com/flickerlog/flicker/internal/fielderr"
)

// SetDefaults fills unset fields with their defaults.
func (c *Config) SetDefaults() {
	if c.Format == "" {
		c.Format = DefaultFormat
	}
	if c.Compression == "" {
		c.Compression = DefaultCompression
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxRetryAfter == 0 {
		c.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if c.Workers == 0 {
		c.Workers = DefaultWorkers
	}
}

// reservedHeaders are set by the output itself; a configured value would contradict the body it sends.
var reservedHeaders = []string{"Content-Length", "Content-Encoding", "Transfer-Encoding", "Idempotency-Key"}

// Validate checks the configuration and returns every problem as fielderr errors (paths relative to the output).
// It reads no file and opens no connection: `flicker validate` may run elsewhere than the shipper. Messages never
// quote a secret.
func (c *Config) Validate() error {
	var errs []error
	errs = append(errs, c.validateURL()...)
	switch c.Format {
	case "", FormatNDJSON, FormatJSONArray: // "": the default
	default:
		errs = append(errs, fielderr.New("format", "%q is not a format: use %s or %s", c.Format, FormatNDJSON,
			FormatJSONArray))
	}
	switch c.Compression {
	case "", CompressionGzip, CompressionNone:
	default:
		errs = append(errs, fielderr.New("compression", "%q is not supported: use %s or %s", c.Compression,
			CompressionGzip, CompressionNone))
	}
	if c.Timeout < 0 {
		errs = append(errs, fielderr.New("timeout", "must be a positive duration such as 30s, got %s", c.Timeout))
	}
	if c.Workers < 0 || c.Workers > MaxWorkers {
		errs = append(errs, fielderr.New("workers", "must be between 1 and %d requests in flight, got %d", MaxWorkers,
			c.Workers))
	}
	if c.MaxRetryAfter < 0 {
		errs = append(errs, fielderr.New("max_retry_after", "must be a positive duration such as 60s, got %s",
			c.MaxRetryAfter))
	}
	a := c.Auth
	user, password := credential.Field{Path: "auth.username", Value: a.Username},
		credential.Field{Path: "auth.password", Value: a.Password}
	if a.BearerToken != "" && (a.Username != "" || a.Password != "") {
		errs = append(errs, fielderr.New("auth", "set either bearer_token or username and password, not both"))
	} else {
		errs = append(errs, credential.Pair(user, password)...)
	}
	errs = append(errs, credential.Check(credential.Field{Path: "auth.bearer_token", Value: a.BearerToken}, user,
		password)...)
	errs = append(errs, c.validateHeaders()...)
	return fielderr.Join(errs...)
}

func (c *Config) validateURL() []error {
	if c.URL == "" {
		return []error{fielderr.New("url", "required: the http:// or https:// address to POST events to")}
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		// url.Error quotes the URL, which may hold a password: say what is wrong without it.
		var ue *url.Error
		msg := err.Error()
		if errors.As(err, &ue) {
			msg = ue.Err.Error()
		}
		return []error{fielderr.New("url", "not a valid URL: %s", msg)}
	}
	var errs []error
	if u.Scheme != "http" && u.Scheme != "https" {
		errs = append(errs, fielderr.New("url", "%q: the scheme must be http or https", redactURL(c.URL)))
	} else if u.Host == "" {
		errs = append(errs, fielderr.New("url", "%q has no host", redactURL(c.URL)))
	}
	if u.User != nil && (c.Auth != Auth{}) {
		errs = append(errs, fielderr.New("url", "holds credentials and auth is set too: keep one of them"))
	}
	return errs
}

func (c *Config) validateHeaders() []error {
	var errs []error
	names := make([]string, 0, len(c.Headers))
	for name := range c.Headers {
		names = append(names, name)
	}
	slices.Sort(names) // a stable order of errors
	for _, name := range names {
		path := "headers." + name
		canon := http.CanonicalHeaderKey(name)
		switch {
		case !httpguts.ValidHeaderFieldName(name):
			errs = append(errs, fielderr.New(path, "%q is not a valid header name", name))
		case slices.Contains(reservedHeaders, canon):
			errs = append(errs, fielderr.New(path, "%s is set by the output; remove it", canon))
		case canon == "Authorization" && (c.Auth != Auth{}):
			errs = append(errs, fielderr.New(path, "conflicts with auth: keep one of them"))
		}
		if strings.ContainsAny(c.Headers[name], "\r\n\x00") {
			errs = append(errs, fielderr.New(path, "the value must not contain line breaks or NUL"))
		}
	}
	return errs
}
