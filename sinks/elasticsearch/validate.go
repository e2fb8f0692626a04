package elasticsearch

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/flickerlog/flicker/internal/credential"
	"github.com/flickerlog/flicker/internal/fielderr"
)

// reservedHeaders are set by the sink itself and cannot be configured.
var reservedHeaders = []string{"Content-Type", "Content-Encoding", "Content-Length", "Transfer-Encoding"}

// Validate checks the configuration and returns every problem as fielderr errors (paths relative to the output).
// It touches neither the network nor the file system (ca_file is read by New): `flicker validate` may run
// elsewhere than the shipper. Messages never quote secrets.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Hosts) == 0 {
		errs = append(errs, fielderr.New("hosts", "required: at least one URL such as https://es.example.com:9200"))
	}
	seen := make(map[string]bool, len(c.Hosts))
	for i, h := range c.Hosts {
		path := "hosts[" + strconv.Itoa(i) + "]"
		if err := checkHost(h); err != nil {
			errs = append(errs, fielderr.New(path, "%v", err))
			continue
		}
		if seen[h] {
			errs = append(errs, fielderr.New(path, "%s is listed twice", h))
		}
		seen[h] = true
	}
	if _, err := parseIndex(c.Index); err != nil {
		errs = append(errs, fielderr.New("index", "%v", err))
	}
	switch c.OpType {
	case "", OpIndex, OpCreate:
	default:
		errs = append(errs, fielderr.New("op_type", "must be %s or %s (for data streams), got %q", OpIndex, OpCreate,
			c.OpType))
	}
	switch c.Compression {
	case "", CompressionGzip, CompressionNone:
	default:
		errs = append(errs, fielderr.New("compression", "must be %s or %s, got %q", CompressionGzip,
			CompressionNone, c.Compression))
	}
	errs = append(errs, c.validateAuth()...)
	if c.BulkMaxBytes < 0 {
		errs = append(errs, fielderr.New("bulk_max_bytes", "must be a size in bytes (default %d), got %d",
			DefaultBulkMaxBytes, c.BulkMaxBytes))
	}
	if c.Timeout < 0 {
		errs = append(errs, fielderr.New("timeout", "must not be negative, got %s", c.Timeout))
	}
	if c.Workers < 0 || c.Workers > MaxWorkers {
		errs = append(errs, fielderr.New("workers", "must be between 1 and %d requests in flight, got %d", MaxWorkers,
			c.Workers))
	}
	return fielderr.Join(errs...)
}

// checkHost accepts an http or https URL with a host and nothing after the path. Credentials in the URL are
// refused (they would end up in logs and errors), and no message quotes a URL that may hold them.
func checkHost(h string) error {
	u, err := url.Parse(h)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // without the URL
		}
		return fmt.Errorf("%s: not a URL: %v", shown(h), err)
	}
	switch {
	case u.User != nil:
		return fmt.Errorf("%s: credentials in the URL are not supported: set username and password, or api_key",
			u.Redacted())
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%s: must be an http:// or https:// URL", shown(h))
	case u.Host == "":
		return fmt.Errorf("%s: no host", shown(h))
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return fmt.Errorf("%s: must not have a query or fragment", shown(h))
	}
	return nil
}

// shown is h for a message, unless it might hold credentials.
func shown(h string) string {
	if strings.Contains(h, "@") {
		return "the URL"
	}
	return h
}

func (c *Config) validateAuth() []error {
	var errs []error
	basic := c.Username != "" || c.Password != ""
	user, password := credential.Field{Path: "username", Value: c.Username},
		credential.Field{Path: "password", Value: c.Password}
	if c.APIKey != "" && basic {
		errs = append(errs, fielderr.New("api_key", "set either api_key or username and password, not both"))
	} else {
		errs = append(errs, credential.Pair(user, password)...)
	}
	apiKey := credential.Check(credential.Field{Path: "api_key", Value: c.APIKey})
	if len(apiKey) == 0 && strings.ContainsAny(c.APIKey, " \t") {
		apiKey = append(apiKey, fielderr.New("api_key", "must not contain spaces"))
	}
	errs = append(errs, apiKey...)
	errs = append(errs, credential.Check(user, password)...)
	for name := range c.Headers {
		path := "headers." + name
		canonical := http.CanonicalHeaderKey(name)
		switch {
		case !httpguts.ValidHeaderFieldName(name):
			errs = append(errs, fielderr.New(path, "not a valid header name"))
		case canonical == "Authorization" && (c.APIKey != "" || basic):
			errs = append(errs, fielderr.New(path, "conflicts with api_key or username: set only one"))
		case isReserved(canonical):
			errs = append(errs, fielderr.New(path, "is set by the output and cannot be configured"))
		case strings.ContainsAny(c.Headers[name], "\r\n"):
			errs = append(errs, fielderr.New(path, "the value must not contain line breaks"))
		}
	}
	return errs
}

func isReserved(canonical string) bool {
	for _, r := range reservedHeaders {
		if canonical == r {
			return true
		}
	}
	return false
}
