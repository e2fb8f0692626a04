package s3client_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/flickerlog/flicker/internal/s3client"
)

const (
	testSecret = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"
	testToken  = "FwoGZXIvYXdzEXAMPLETOKENdGhpcyBpcyBhIHRva2Vu"
)

// env is a fake environment for FromEnv.
type env map[string]string

func (e env) get(name string) string { return e[name] }

func boolPtr(b bool) *bool { return &b }

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name      string
		env       env
		overrides s3client.Config
		want      s3client.Config
		wantErr   string // substring; "" means success
	}{
		{name: "empty environment is AWS with defaults decided later", env: env{}, want: s3client.Config{}},
		{
			name: "minio endpoint, region, path style, static keys",
			env: env{
				"AWS_ENDPOINT_URL": "http://minio:9000", "AWS_REGION": "eu-west-1", "AWS_S3_FORCE_PATH_STYLE": "true",
				"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": testSecret, "AWS_SESSION_TOKEN": testToken,
			},
			want: s3client.Config{
				Endpoint: "http://minio:9000", Region: "eu-west-1", PathStyle: boolPtr(true),
				AccessKey: "AKIAEXAMPLE", SecretKey: testSecret, SessionToken: testToken,
			},
		},
		{
			name: "trailing slash dropped",
			env:  env{"AWS_ENDPOINT_URL": "https://storage.googleapis.com/"},
			want: s3client.Config{Endpoint: "https://storage.googleapis.com"},
		},
		{
			name: "service-specific endpoint wins",
			env:  env{"AWS_ENDPOINT_URL": "http://generic:1", "AWS_ENDPOINT_URL_S3": "http://s3only:2"},
			want: s3client.Config{Endpoint: "http://s3only:2"},
		},
		{
			name:      "endpoint override wins",
			env:       env{"AWS_ENDPOINT_URL": "http://env:1"},
			overrides: s3client.Config{Endpoint: "https://flag:2"},
			want:      s3client.Config{Endpoint: "https://flag:2"},
		},
		{name: "endpoint with a path", env: env{"AWS_ENDPOINT_URL": "http://minio:9000/bucket"}, wantErr: "AWS_ENDPOINT_URL"},
		{name: "endpoint with a query", env: env{"AWS_ENDPOINT_URL": "http://minio:9000?x=1"}, wantErr: "path or query"},
		{name: "endpoint without scheme", env: env{"AWS_ENDPOINT_URL": "minio:9000"}, wantErr: "AWS_ENDPOINT_URL"},
		{name: "endpoint bare address", env: env{"AWS_ENDPOINT_URL": "127.0.0.1:9000"}, wantErr: "AWS_ENDPOINT_URL"},
		{name: "endpoint ftp", env: env{"AWS_ENDPOINT_URL": "ftp://minio"}, wantErr: "http:// or https://"},
		{name: "endpoint without host", env: env{"AWS_ENDPOINT_URL": "http://"}, wantErr: "no host"},
		{
			name:    "endpoint with credentials",
			env:     env{"AWS_ENDPOINT_URL": "http://user:" + testSecret + "@minio:9000"},
			wantErr: "credentials in the URL are not supported",
		},
		{name: "bad endpoint override", overrides: s3client.Config{Endpoint: "minio:9000/x"}, wantErr: "endpoint override"},
		{
			name: "AWS_REGION wins over AWS_DEFAULT_REGION",
			env:  env{"AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "us-west-2"},
			want: s3client.Config{Region: "eu-central-1"},
		},
		{name: "AWS_DEFAULT_REGION alone", env: env{"AWS_DEFAULT_REGION": "us-west-2"}, want: s3client.Config{Region: "us-west-2"}},
		{
			name:      "region override wins",
			env:       env{"AWS_REGION": "eu-central-1"},
			overrides: s3client.Config{Region: "ap-south-1"},
			want:      s3client.Config{Region: "ap-south-1"},
		},
		{name: "path style false", env: env{"AWS_S3_FORCE_PATH_STYLE": "false"}, want: s3client.Config{PathStyle: boolPtr(false)}},
		{name: "path style 1", env: env{"AWS_S3_FORCE_PATH_STYLE": "1"}, want: s3client.Config{PathStyle: boolPtr(true)}},
		{name: "path style garbage", env: env{"AWS_S3_FORCE_PATH_STYLE": "yes please"}, wantErr: "AWS_S3_FORCE_PATH_STYLE"},
		{
			name:      "path style override wins",
			env:       env{"AWS_S3_FORCE_PATH_STYLE": "garbage"},
			overrides: s3client.Config{PathStyle: boolPtr(false)},
			want:      s3client.Config{PathStyle: boolPtr(false)},
		},
		{name: "access key without secret", env: env{"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE"}, wantErr: "AWS_SECRET_ACCESS_KEY"},
		{name: "secret without access key", env: env{"AWS_SECRET_ACCESS_KEY": testSecret}, wantErr: "AWS_ACCESS_KEY_ID"},
		{name: "session token alone", env: env{"AWS_SESSION_TOKEN": testToken}, wantErr: "AWS_SESSION_TOKEN"},
		{
			name:      "key overrides are not mixed with environment keys",
			env:       env{"AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_SESSION_TOKEN": "envtoken"},
			overrides: s3client.Config{AccessKey: "FLAGKEY", SecretKey: testSecret},
			want:      s3client.Config{AccessKey: "FLAGKEY", SecretKey: testSecret},
		},
		{name: "access key override alone", overrides: s3client.Config{AccessKey: "FLAGKEY"}, wantErr: "together"},
		{
			name: "profile, shared file, IRSA, STS and IMDS endpoints",
			env: env{
				"AWS_PROFILE": "ci", "AWS_SHARED_CREDENTIALS_FILE": "/etc/aws/creds",
				"AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token", "AWS_ROLE_ARN": "arn:aws:iam::1:role/flicker",
				"AWS_ENDPOINT_URL_STS": "https://sts.example.com", "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://169.254.169.254",
			},
			want: s3client.Config{
				Profile: "ci", SharedCredentialsFile: "/etc/aws/creds",
				WebIdentityTokenFile: "/var/run/token", RoleARN: "arn:aws:iam::1:role/flicker",
				STSEndpoint: "https://sts.example.com", MetadataEndpoint: "http://169.254.169.254",
			},
		},
		{
			name:      "profile override wins",
			env:       env{"AWS_PROFILE": "env"},
			overrides: s3client.Config{Profile: "flag"},
			want:      s3client.Config{Profile: "flag"},
		},
		{name: "token file without role", env: env{"AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token"}, wantErr: "AWS_ROLE_ARN"},
		{name: "STS endpoint with a path", env: env{"AWS_ENDPOINT_URL_STS": "https://sts.example.com/x"}, wantErr: "AWS_ENDPOINT_URL_STS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s3client.FromEnv(tt.env.get, tt.overrides)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("FromEnv = %v, want an error containing %q", got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %q does not contain %q", err, tt.wantErr)
				}
				assertNoSecret(t, err.Error())
				return
			}
			if err != nil {
				t.Fatalf("FromEnv: %v", err)
			}
			if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", tt.want) || !samePathStyle(got.PathStyle, tt.want.PathStyle) ||
				got.SecretKey != tt.want.SecretKey || got.SessionToken != tt.want.SessionToken {
				t.Fatalf("FromEnv =\n %v\nwant\n %v", got, tt.want)
			}
		})
	}
}

func samePathStyle(a, b *bool) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func TestConfigFormattingRedactsSecrets(t *testing.T) {
	cfg := s3client.Config{Endpoint: "http://minio:9000", AccessKey: "AKIAEXAMPLE", SecretKey: testSecret, SessionToken: testToken}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, cfg)
		assertNoSecret(t, out)
		if !strings.Contains(out, "AKIAEXAMPLE") || !strings.Contains(out, "http://minio:9000") {
			t.Errorf("%s: %q lacks the non-secret fields", verb, out)
		}
	}
	for _, verb := range []string{"%v", "%+v"} {
		assertNoSecret(t, fmt.Sprintf(verb, &cfg))
	}
}

func assertNoSecret(t *testing.T, s string) {
	t.Helper()
	for _, secret := range []string{testSecret, testToken} {
		if strings.Contains(s, secret) {
			t.Errorf("secret leaked into %q", s)
		}
	}
}
