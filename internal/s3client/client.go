package s3client

import (
	"fmt"
	"net/url"

	"github.com/minio/minio-go/v7"
)

// awsEndpoint is minio-go's generic AWS endpoint; with Region set it signs for, and addresses, that region.
const awsEndpoint = "s3.amazonaws.com"

// New builds a minio-go client from cfg (usually the result of FromEnv). It makes no request: credential
// problems surface on the first request, as ErrNoCredentials.
func New(cfg Config) (*minio.Client, error) {
	host, secure := awsEndpoint, true
	if cfg.Endpoint != "" {
		ep, err := normalizeEndpoint(cfg.Endpoint, "endpoint")
		if err != nil {
			return nil, err
		}
		u, err := url.Parse(ep)
		if err != nil {
			return nil, fmt.Errorf("endpoint: %w", err)
		}
		host, secure = u.Host, u.Scheme == "https"
	}

	lookup := minio.BucketLookupAuto
	if cfg.PathStyle != nil {
		lookup = minio.BucketLookupDNS
		if *cfg.PathStyle {
			lookup = minio.BucketLookupPath
		}
	}

	opts := &minio.Options{
		Creds:        Credentials(cfg),
		Secure:       secure,
		Region:       regionOrDefault(cfg.Region),
		BucketLookup: lookup,
		MaxRetries:   cfg.MaxRetries,
	}
	if cfg.Requests != nil {
		tr, err := cfg.Requests.transport(secure)
		if err != nil {
			return nil, fmt.Errorf("s3 client for %s: %w", host, err)
		}
		opts.Transport = tr
	}
	client, err := minio.New(host, opts)
	if err != nil {
		return nil, fmt.Errorf("s3 client for %s: %w", host, err)
	}
	return client, nil
}
