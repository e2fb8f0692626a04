package s3client

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/minio/minio-go/v7/pkg/credentials"
)

// ErrNoCredentials is returned (wrapped, with what each source said) by the first request of a client for
// which no credential source yielded keys. minio-go alone would send anonymous requests instead.
var ErrNoCredentials = errors.New("no S3 credentials found")

// Credentials returns the credential chain New uses: static keys, the shared credentials file, IRSA, then
// ECS/EC2 metadata. Lookups happen on first use, not here.
func Credentials(cfg Config) *credentials.Credentials {
	return credentials.New(newChain(cfg))
}

// source is one named link of the chain; the name appears in ErrNoCredentials and in Source. A link nothing
// configures has no provider, only why it was skipped, so ErrNoCredentials lists the whole chain.
type source struct {
	name     string
	provider credentials.Provider
	skipped  string
}

// chain tries its sources in order and fails loudly when none yields keys. credentials.Credentials
// serialises calls to it, so it needs no lock of its own.
type chain struct {
	sources []source
	curr    *source
}

func newChain(cfg Config) *chain {
	timeout := cfg.MetadataTimeout
	if timeout <= 0 {
		timeout = DefaultMetadataTimeout
	}
	client := &http.Client{Timeout: timeout}

	var sources []source
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		sources = append(sources, source{name: "static keys", skipped: fmt.Sprintf("%s and %s not set", EnvAccessKeyID, EnvSecretAccessKey)})
	} else {
		sources = append(sources, source{
			name: "static keys",
			provider: &credentials.Static{Value: credentials.Value{
				AccessKeyID:     cfg.AccessKey,
				SecretAccessKey: cfg.SecretKey,
				SessionToken:    cfg.SessionToken,
				SignerType:      credentials.SignatureV4,
			}},
		})
	}

	profile := cfg.Profile
	if profile == "" {
		profile = "default"
	}
	file := cfg.SharedCredentialsFile
	if file == "" {
		file = "~/.aws/credentials"
	}
	sources = append(sources, source{
		name:     fmt.Sprintf("profile %q in %s", profile, file),
		provider: &credentials.FileAWSCredentials{Filename: cfg.SharedCredentialsFile, Profile: cfg.Profile},
	})

	if cfg.WebIdentityTokenFile != "" && cfg.RoleARN != "" {
		sts := cfg.STSEndpoint
		if sts == "" {
			sts = stsEndpoint(regionOrDefault(cfg.Region))
		}
		tokenFile := cfg.WebIdentityTokenFile
		sources = append(sources, source{
			name: fmt.Sprintf("IRSA (role %s, token %s)", cfg.RoleARN, tokenFile),
			provider: &credentials.STSWebIdentity{
				Client:      client,
				STSEndpoint: sts,
				RoleARN:     cfg.RoleARN,
				// Re-read on every refresh: Kubernetes rotates the projected token.
				GetWebIDTokenExpiry: func() (*credentials.WebIdentityToken, error) {
					b, err := os.ReadFile(tokenFile)
					if err != nil {
						return nil, err
					}
					return &credentials.WebIdentityToken{Token: strings.TrimSpace(string(b))}, nil
				},
			},
		})
		// Without an IAM fallback: minio-go's IAM provider would retry IRSA from the same variables, and
		// pods using IRSA usually cannot reach the node's instance metadata anyway.
		return &chain{sources: sources}
	}
	sources = append(sources, source{name: "IRSA", skipped: fmt.Sprintf("%s and %s not set", EnvWebIdentityToken, EnvRoleARN)})

	containerCreds := os.Getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != "" || os.Getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI") != ""
	if cfg.MetadataDisabled && !containerCreds {
		sources = append(sources, source{name: "ECS/EC2 instance metadata", skipped: "disabled by " + EnvEC2MetadataDisabled})
		return &chain{sources: sources}
	}

	iam := &credentials.IAM{Client: client, Region: cfg.Region}
	// IAM.Endpoint would also replace the ECS credentials URL, so it only carries the IMDS override when
	// no container credentials are configured.
	if !containerCreds {
		iam.Endpoint = cfg.MetadataEndpoint
	}
	sources = append(sources, source{name: "ECS/EC2 instance metadata", provider: iam})
	return &chain{sources: sources}
}

func regionOrDefault(region string) string {
	if region == "" {
		return DefaultRegion
	}
	return region
}

func stsEndpoint(region string) string {
	if strings.HasPrefix(region, "cn-") {
		return "https://sts." + region + ".amazonaws.com.cn"
	}
	return "https://sts." + region + ".amazonaws.com"
}

// RetrieveWithCredContext returns the first complete keys a source yields, or ErrNoCredentials with each
// source's reason.
func (c *chain) RetrieveWithCredContext(cc *credentials.CredContext) (credentials.Value, error) {
	reasons := make([]string, 0, len(c.sources))
	for i := range c.sources {
		s := &c.sources[i]
		if s.provider == nil {
			reasons = append(reasons, s.name+": "+s.skipped)
			continue
		}
		v, err := s.provider.RetrieveWithCredContext(cc)
		switch {
		case err != nil:
			reasons = append(reasons, fmt.Sprintf("%s: %v", s.name, err))
		case v.AccessKeyID == "" || v.SecretAccessKey == "":
			reasons = append(reasons, s.name+": no keys")
		default:
			c.curr = s
			return v, nil
		}
	}
	c.curr = nil
	return credentials.Value{}, fmt.Errorf("%w (set %s and %s, AWS_PROFILE, or run with an IAM role): %s",
		ErrNoCredentials, EnvAccessKeyID, EnvSecretAccessKey, strings.Join(reasons, "; "))
}

// Retrieve is the deprecated form of RetrieveWithCredContext, kept to satisfy credentials.Provider.
func (c *chain) Retrieve() (credentials.Value, error) {
	return c.RetrieveWithCredContext(&credentials.CredContext{Client: http.DefaultClient})
}

// IsExpired reports whether the source that last yielded keys wants a refresh; with none, every request
// tries the chain again, so a role that appears later (metadata not yet ready) is picked up.
func (c *chain) IsExpired() bool {
	if c.curr == nil {
		return true
	}
	return c.curr.provider.IsExpired()
}
