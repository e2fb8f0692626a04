package kubemeta

import (
	"net"
	"net/url"
	"os"
	"time"

	"github.com/flickerlog/flicker/internal/fielderr"
)

// Defaults of Config.
const (
	DefaultWaitTimeout = 2 * time.Second
	DefaultDeleteGrace = time.Minute
	DefaultMissRetry   = time.Minute
	// The first retry of a failed list or watch waits DefaultRetryBackoff, each next one twice as long, up
	// to DefaultRetryBackoffMax (plus up to 25% jitter), as client-go's reflector.
	DefaultRetryBackoff    = 800 * time.Millisecond
	DefaultRetryBackoffMax = 30 * time.Second
	DefaultTokenFile       = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	DefaultCAFile          = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
)

// Config says which node's pods to watch, where the API server is and how long to wait for metadata. Field
// paths in errors are the YAML names.
type Config struct {
	// Node is the name of the node whose pods are watched (spec.nodeName). Required; in a pod, set it from the
	// downward API: env NODE_NAME from fieldRef spec.nodeName, and node: ${NODE_NAME}.
	Node string `yaml:"node"`
	// Host is the API server's URL (https://host:port). Empty: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT.
	Host string `yaml:"host"`
	// TokenFile holds the bearer token, re-read as it rotates. Empty: the service account's token.
	TokenFile string `yaml:"token_file"`
	// CAFile holds the PEM certificates the API server's certificate is checked against. Empty: the service
	// account's ca.crt.
	CAFile string `yaml:"ca_file"`
	// Annotations are the annotation keys kept (exact keys); others are dropped before caching.
	Annotations []string `yaml:"annotations"`
	// WaitTimeout bounds how long Pod waits for a pod it does not know. 0: DefaultWaitTimeout.
	WaitTimeout time.Duration `yaml:"wait_timeout"`
	// MissRetry is how long Pod answers at once, without waiting, for a UID it waited for in vain. 0:
	// DefaultMissRetry.
	MissRetry time.Duration `yaml:"miss_retry"`
	// DeleteGrace is how long a deleted pod stays cached. 0: DefaultDeleteGrace.
	DeleteGrace time.Duration `yaml:"delete_grace"`
	// RetryBackoff and RetryBackoffMax bound the wait before retrying a failed list or watch. 0: the defaults.
	RetryBackoff    time.Duration `yaml:"retry_backoff"`
	RetryBackoffMax time.Duration `yaml:"retry_backoff_max"`
}

// Validate checks the fields that need no environment; New also resolves the in-cluster defaults.
func (c *Config) Validate() error {
	var errs []error
	if c.Node == "" {
		errs = append(errs, fielderr.New("node", "is empty: set it to this node's name, in a pod from the downward API (env NODE_NAME from fieldRef spec.nodeName, then node: ${NODE_NAME})"))
	}
	if c.Host != "" {
		if u, err := url.Parse(c.Host); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			errs = append(errs, fielderr.New("host", "%q is not an http(s) URL: give the API server as https://host:port", c.Host))
		}
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"wait_timeout", c.WaitTimeout}, {"miss_retry", c.MissRetry}, {"delete_grace", c.DeleteGrace},
		{"retry_backoff", c.RetryBackoff}, {"retry_backoff_max", c.RetryBackoffMax}} {
		if f.d < 0 {
			errs = append(errs, fielderr.New(f.name, "is negative (%s): give a duration such as 2s, or leave it out for the default", f.d))
		}
	}
	return fielderr.Join(errs...)
}

// withDefaults returns c with the defaults and the in-cluster API server address filled in.
func (c Config) withDefaults() (Config, error) {
	if c.WaitTimeout == 0 {
		c.WaitTimeout = DefaultWaitTimeout
	}
	if c.MissRetry == 0 {
		c.MissRetry = DefaultMissRetry
	}
	if c.DeleteGrace == 0 {
		c.DeleteGrace = DefaultDeleteGrace
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = DefaultRetryBackoff
	}
	if c.RetryBackoffMax == 0 {
		c.RetryBackoffMax = DefaultRetryBackoffMax
	}
	c.RetryBackoffMax = max(c.RetryBackoffMax, c.RetryBackoff)
	if c.TokenFile == "" {
		c.TokenFile = DefaultTokenFile
	}
	if c.CAFile == "" {
		c.CAFile = DefaultCAFile
	}
	if c.Host == "" {
		host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
		if host == "" || port == "" {
			return c, fielderr.New("host", "is empty and KUBERNETES_SERVICE_HOST/PORT are not set (not in a pod): give the API server's URL, token_file and ca_file")
		}
		c.Host = "https://" + net.JoinHostPort(host, port)
	}
	for _, f := range []struct{ name, path string }{{"token_file", c.TokenFile}, {"ca_file", c.CAFile}} {
		if _, err := os.Stat(f.path); err != nil {
			return c, fielderr.New(f.name, "%v: mount the service account's token (automountServiceAccountToken) or give the file", err)
		}
	}
	return c, nil
}
