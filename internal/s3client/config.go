package s3client

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultRegion signs requests when neither the environment nor the overrides name a region. Setting it
// always (rather than leaving it empty) keeps minio-go from calling GetBucketLocation, which would need an
// extra permission.
const DefaultRegion = "us-east-1"

// DefaultMetadataTimeout bounds each request to a credentials endpoint (EC2 IMDS, ECS, STS).
const DefaultMetadataTimeout = 2 * time.Second

// Config says where the store is and how to authenticate. FromEnv fills it from the environment; New builds
// a client from it. Format it freely: String redacts the secrets.
type Config struct {
	// Endpoint is the store's URL, "https://storage.googleapis.com" or "http://minio:9000": the scheme decides
	// TLS, and a path is not allowed. Empty means AWS S3 in Region.
	Endpoint string
	// Region signs requests; empty means DefaultRegion.
	Region string
	// PathStyle forces path-style (true) or virtual-host (false) addressing; nil lets minio-go decide
	// (virtual-host for AWS and GCS, path-style for everything else).
	PathStyle *bool

	// Static keys. In the overrides given to FromEnv an empty value means "take it from the environment".
	AccessKey, SecretKey, SessionToken string
	// Profile in the shared credentials file; empty means AWS_PROFILE, then "default".
	Profile string
	// SharedCredentialsFile is read alone when set; empty means the AWS defaults (~/.aws/config merged with
	// ~/.aws/credentials, or the files named by AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE).
	SharedCredentialsFile string

	// WebIdentityTokenFile and RoleARN enable EKS IRSA (AssumeRoleWithWebIdentity).
	WebIdentityTokenFile, RoleARN string
	// STSEndpoint overrides the STS URL used for IRSA; empty means https://sts.<Region>.amazonaws.com.
	STSEndpoint string
	// MetadataEndpoint overrides the EC2 instance metadata URL (AWS_EC2_METADATA_SERVICE_ENDPOINT).
	MetadataEndpoint string
	// MetadataTimeout bounds each credentials lookup; zero means DefaultMetadataTimeout.
	MetadataTimeout time.Duration
	// MetadataDisabled leaves EC2 instance metadata out of the chain (AWS_EC2_METADATA_DISABLED=true); ECS
	// container credentials still count.
	MetadataDisabled bool

	// MaxRetries is minio-go's per-request retry count; zero keeps its default (10), 1 disables retries.
	MaxRetries int

	// Requests, when set, counts every request the client sends (NewRequests); nil counts nothing.
	Requests *Requests
}

// Environment variables FromEnv reads.
const (
	EnvEndpointURL         = "AWS_ENDPOINT_URL"
	EnvEndpointURLS3       = "AWS_ENDPOINT_URL_S3"
	EnvRegion              = "AWS_REGION"
	EnvDefaultRegion       = "AWS_DEFAULT_REGION"
	EnvForcePathStyle      = "AWS_S3_FORCE_PATH_STYLE"
	EnvAccessKeyID         = "AWS_ACCESS_KEY_ID"
	EnvSecretAccessKey     = "AWS_SECRET_ACCESS_KEY"
	EnvSessionToken        = "AWS_SESSION_TOKEN"
	EnvProfile             = "AWS_PROFILE"
	EnvSharedCredentials   = "AWS_SHARED_CREDENTIALS_FILE"
	EnvWebIdentityToken    = "AWS_WEB_IDENTITY_TOKEN_FILE"
	EnvRoleARN             = "AWS_ROLE_ARN"
	EnvEndpointURLSTS      = "AWS_ENDPOINT_URL_STS"
	EnvEC2MetadataEndpoint = "AWS_EC2_METADATA_SERVICE_ENDPOINT"
	EnvEC2MetadataDisabled = "AWS_EC2_METADATA_DISABLED"
)

// FromEnv returns overrides completed from the environment read through getenv (os.Getenv in production).
// A non-empty override wins over its variable. Errors name the variable (or "endpoint override") and never
// echo a secret.
func FromEnv(getenv func(string) string, overrides Config) (Config, error) {
	cfg := overrides
	first := func(names ...string) (value, name string) {
		for _, n := range names {
			if v := strings.TrimSpace(getenv(n)); v != "" {
				return v, n
			}
		}
		return "", ""
	}

	if cfg.Endpoint == "" {
		v, name := first(EnvEndpointURLS3, EnvEndpointURL)
		if v != "" {
			ep, err := normalizeEndpoint(v, name)
			if err != nil {
				return Config{}, err
			}
			cfg.Endpoint = ep
		}
	} else {
		ep, err := normalizeEndpoint(cfg.Endpoint, "endpoint override")
		if err != nil {
			return Config{}, err
		}
		cfg.Endpoint = ep
	}

	if cfg.Region == "" {
		cfg.Region, _ = first(EnvRegion, EnvDefaultRegion)
	}

	if cfg.PathStyle == nil {
		if v, name := first(EnvForcePathStyle); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return Config{}, fmt.Errorf("%s=%q: want true or false", name, v)
			}
			cfg.PathStyle = &b
		}
	}

	// Static keys come as a set: mixing an overridden access key with an environment secret would pair
	// keys from two different identities.
	if cfg.AccessKey == "" && cfg.SecretKey == "" {
		cfg.AccessKey, _ = first(EnvAccessKeyID)
		cfg.SecretKey = getenv(EnvSecretAccessKey)
		if cfg.SessionToken == "" {
			cfg.SessionToken = getenv(EnvSessionToken)
		}
		if (cfg.AccessKey == "") != (cfg.SecretKey == "") {
			return Config{}, fmt.Errorf("%s and %s must be set together", EnvAccessKeyID, EnvSecretAccessKey)
		}
	} else if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return Config{}, errors.New("access key and secret key overrides must be given together")
	}
	if cfg.SessionToken != "" && cfg.AccessKey == "" {
		return Config{}, fmt.Errorf("%s is set without %s and %s", EnvSessionToken, EnvAccessKeyID, EnvSecretAccessKey)
	}

	if cfg.Profile == "" {
		cfg.Profile, _ = first(EnvProfile)
	}
	if cfg.SharedCredentialsFile == "" {
		cfg.SharedCredentialsFile, _ = first(EnvSharedCredentials)
	}

	if cfg.WebIdentityTokenFile == "" {
		cfg.WebIdentityTokenFile, _ = first(EnvWebIdentityToken)
	}
	if cfg.RoleARN == "" {
		cfg.RoleARN, _ = first(EnvRoleARN)
	}
	if cfg.WebIdentityTokenFile != "" && cfg.RoleARN == "" {
		return Config{}, fmt.Errorf("%s is set but %s is not: IRSA needs both", EnvWebIdentityToken, EnvRoleARN)
	}
	if cfg.STSEndpoint == "" {
		if v, name := first(EnvEndpointURLSTS); v != "" {
			ep, err := normalizeEndpoint(v, name)
			if err != nil {
				return Config{}, err
			}
			cfg.STSEndpoint = ep
		}
	}
	if cfg.MetadataEndpoint == "" {
		cfg.MetadataEndpoint, _ = first(EnvEC2MetadataEndpoint)
	}
	if !cfg.MetadataDisabled {
		// The AWS SDKs accept only "true" (any case); anything else leaves metadata on.
		v, _ := first(EnvEC2MetadataDisabled)
		cfg.MetadataDisabled = strings.EqualFold(v, "true")
	}
	return cfg, nil
}

// normalizeEndpoint checks an endpoint URL and returns it as scheme://host[:port]. source names where the
// value came from, for the error.
func normalizeEndpoint(raw, source string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole input, which may hold a password: keep only the reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("%s: not a URL: %w", source, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("%s=%q: want an http:// or https:// URL, such as https://s3.eu-west-1.amazonaws.com or http://minio:9000", source, u.Redacted())
	case u.User != nil:
		return "", fmt.Errorf("%s=%q: credentials in the URL are not supported; use %s and %s", source, u.Redacted(), EnvAccessKeyID, EnvSecretAccessKey)
	case u.Host == "":
		return "", fmt.Errorf("%s=%q: no host", source, u.Redacted())
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		return "", fmt.Errorf("%s=%q: an S3 endpoint cannot have a path or query; give only scheme://host[:port]", source, u.Redacted())
	}
	return u.Scheme + "://" + u.Host, nil
}

// String describes the configuration with secrets redacted, so a Config can be logged or printed with %v.
func (c Config) String() string {
	redact := func(s string) string {
		if s == "" {
			return ""
		}
		return "REDACTED"
	}
	pathStyle := "auto"
	if c.PathStyle != nil {
		pathStyle = strconv.FormatBool(*c.PathStyle)
	}
	return fmt.Sprintf("{Endpoint:%s Region:%s PathStyle:%s AccessKey:%s SecretKey:%s SessionToken:%s Profile:%s "+
		"SharedCredentialsFile:%s WebIdentityTokenFile:%s RoleARN:%s STSEndpoint:%s MetadataEndpoint:%s MetadataTimeout:%s MetadataDisabled:%t MaxRetries:%d}",
		c.Endpoint, c.Region, pathStyle, c.AccessKey, redact(c.SecretKey), redact(c.SessionToken), c.Profile,
		c.SharedCredentialsFile, c.WebIdentityTokenFile, c.RoleARN, c.STSEndpoint, c.MetadataEndpoint, c.MetadataTimeout, c.MetadataDisabled, c.MaxRetries)
}

// GoString redacts like String, for %#v.
func (c Config) GoString() string { return "s3client.Config" + c.String() }
