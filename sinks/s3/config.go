package s3out

import (
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/flickerlog/flicker/internal/s3client"
)

// Config holds the settings of an output of type s3 (the config package handles type, name, retry and
// dead_letter). Where the store is and how to sign come from the AWS environment, as for the registry
// (s3client.FromEnv); Endpoint, Region and PathStyle override it for this output only.
type Config struct {
	Bucket string `yaml:"bucket"`
	// Prefix starts every object key; it may hold %{input} (the event's input name) and %{+<date>} (the
	// event's @timestamp in UTC, with the tokens yyyy, MM, dd, HH and mm).
	Prefix      string `yaml:"prefix"`
	Compression string `yaml:"compression"` // gzip | zstd | none
	// MaxObjectBytes cuts an object once its NDJSON body (before compression), or the queue bytes its events
	// hold, would pass it. The events of an object are acknowledged only once it is written, so the queue's
	// max_bytes must exceed it.
	MaxObjectBytes int64 `yaml:"max_object_bytes"`
	// MaxObjectAge cuts an object this long after its first event arrived.
	MaxObjectAge time.Duration `yaml:"max_object_age"`
	// MaxOpenObjects bounds the objects open at once (one per rendered prefix): opening one more cuts the one
	// that took an event least recently. Each open object may hold a compressor (gzip: hundreds of KiB, zstd:
	// MiBs), so this bounds memory when events scatter over many prefixes, as in a backfill of old logs.
	MaxOpenObjects int `yaml:"max_open_objects"`
	// UploadTimeout bounds one object's PUT, minio-go's own retries included.
	UploadTimeout time.Duration `yaml:"upload_timeout"`

	// Overrides of the AWS environment for this output; empty (nil) keeps the environment's value.
	Endpoint  string `yaml:"endpoint"`
	Region    string `yaml:"region"`
	PathStyle *bool  `yaml:"path_style"`
}

// Compressions.
const (
	CompressionGzip = "gzip"
	CompressionZstd = "zstd"
	CompressionNone = "none"
)

// Defaults for unset fields.
const (
	DefaultPrefix         = "%{input}/%{+yyyy/MM/dd/HH}/"
	DefaultCompression    = CompressionGzip
	DefaultMaxObjectBytes = 8 << 20
	DefaultMaxObjectAge   = 30 * time.Second
	DefaultMaxOpenObjects = 16
	DefaultUploadTimeout  = time.Minute
)

// maxPutBytes is the largest object one PUT may carry on AWS S3; objects are always uploaded in one PUT.
const maxPutBytes = 5 << 30

// SetDefaults fills unset fields with their defaults. An empty prefix takes DefaultPrefix: objects are never
// written at the top of the bucket.
func (c *Config) SetDefaults() {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.Compression == "" {
		c.Compression = DefaultCompression
	}
	if c.MaxObjectBytes == 0 {
		c.MaxObjectBytes = DefaultMaxObjectBytes
	}
	if c.MaxObjectAge == 0 {
		c.MaxObjectAge = DefaultMaxObjectAge
	}
	if c.MaxOpenObjects == 0 {
		c.MaxOpenObjects = DefaultMaxOpenObjects
	}
	if c.UploadTimeout == 0 {
		c.UploadTimeout = DefaultUploadTimeout
	}
}

// ClientOverrides returns this output's overrides of the AWS environment, for s3client.FromEnv:
//
//	env, err := s3client.FromEnv(os.Getenv, cfg.ClientOverrides())
//	client, err := s3client.New(env)
func (c *Config) ClientOverrides() s3client.Config {
	return s3client.Config{Endpoint: c.Endpoint, Region: c.Region, PathStyle: c.PathStyle}
}

// String describes the configuration; an endpoint's user information, if any, is redacted.
func (c Config) String() string {
	pathStyle := "env"
	if c.PathStyle != nil {
		pathStyle = strconv.FormatBool(*c.PathStyle)
	}
	return fmt.Sprintf("{Bucket:%s Prefix:%s Compression:%s MaxObjectBytes:%d MaxObjectAge:%s MaxOpenObjects:%d "+
		"UploadTimeout:%s Endpoint:%s Region:%s PathStyle:%s}", c.Bucket, c.Prefix, c.Compression, c.MaxObjectBytes,
		c.MaxObjectAge, c.MaxOpenObjects, c.UploadTimeout, redactURL(c.Endpoint), c.Region, pathStyle)
}

// GoString redacts like String, for %#v.
func (c Config) GoString() string { return "s3out.Config" + c.String() }

// redactURL hides the user information of a URL; a value that does not parse is hidden whole, since it may be
// a URL with a password that the parser choked on.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Redacted()
}
