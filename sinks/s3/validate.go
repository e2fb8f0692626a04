package s3out

import (
	"strings"

	"github.com/flickerlog/flicker/internal/fielderr"
	"github.com/flickerlog/flicker/internal/s3client"
)

// Validate checks the configuration and returns every problem as fielderr errors (paths relative to the output).
// It makes no request: `flicker validate` may run without access to the store. That the queue's max_bytes
// exceeds MaxObjectBytes is for the caller to check, which knows both.
func (c *Config) Validate() error {
	var errs []error
	switch b := c.Bucket; {
	case b == "":
		errs = append(errs, fielderr.New("bucket", "required: the bucket to write objects to"))
	case strings.HasPrefix(b, "s3://"):
		errs = append(errs, fielderr.New("bucket", "%q is a URL; give the bucket name alone and the path in prefix",
			b))
	case strings.ContainsAny(b, "/ \t\r\n"):
		errs = append(errs, fielderr.New("bucket", "%q is not a bucket name; give the bucket name alone and the path "+
			"in prefix", b))
	}
	if _, err := parsePrefix(c.Prefix); err != nil {
		errs = append(errs, fielderr.New("prefix", "%v", err))
	}
	switch c.Compression {
	case CompressionGzip, CompressionZstd, CompressionNone:
	default:
		errs = append(errs, fielderr.New("compression", "%q is not one of gzip, zstd, none", c.Compression))
	}
	if c.MaxObjectBytes <= 0 || c.MaxObjectBytes > maxPutBytes {
		errs = append(errs, fielderr.New("max_object_bytes", "must be between 1 and %d (5 GiB, one PUT), got %d",
			int64(maxPutBytes), c.MaxObjectBytes))
	}
	if c.MaxObjectAge <= 0 {
		errs = append(errs, fielderr.New("max_object_age", "must be positive, such as %q, got %s",
			DefaultMaxObjectAge.String(), c.MaxObjectAge))
	}
	if c.MaxOpenObjects <= 0 {
		errs = append(errs, fielderr.New("max_open_objects", "must be at least 1, such as %d, got %d",
			DefaultMaxOpenObjects, c.MaxOpenObjects))
	}
	if c.UploadTimeout <= 0 {
		errs = append(errs, fielderr.New("upload_timeout", "must be positive, such as %q, got %s",
			DefaultUploadTimeout.String(), c.UploadTimeout))
	}
	if c.Endpoint != "" {
		// FromEnv with an empty environment checks the override exactly as the client will see it, and its
		// errors never repeat credentials.
		if _, err := s3client.FromEnv(func(string) string { return "" }, c.ClientOverrides()); err != nil {
			errs = append(errs, fielderr.New("endpoint", "%v", err))
		}
	}
	return fielderr.Join(errs...)
}
