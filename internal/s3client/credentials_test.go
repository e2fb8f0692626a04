package s3client_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/flickerlog/flicker/internal/s3client"
)

// deadMetadataServer answers 404 to everything, like a host without an instance profile; its URL keeps the
// chain away from the real 169.254.169.254.
func deadMetadataServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	return srv.URL
}

func retrieve(t *testing.T, cfg s3client.Config) (credentials.Value, error) {
	t.Helper()
	return s3client.Credentials(cfg).GetWithContext(&credentials.CredContext{Client: http.DefaultClient, Context: testContext(t)})
}

func TestCredentialsStaticKeysWin(t *testing.T) {
	v, err := retrieve(t, s3client.Config{
		AccessKey: "AKIASTATIC", SecretKey: testSecret, SessionToken: testToken,
		SharedCredentialsFile: "/nonexistent", MetadataEndpoint: deadMetadataServer(t),
	})
	if err != nil || v.AccessKeyID != "AKIASTATIC" || v.SecretAccessKey != testSecret || v.SessionToken != testToken {
		t.Fatalf("got %q, %v", v.AccessKeyID, err)
	}
}

func TestCredentialsProfileFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "credentials")
	content := "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = default-secret\n\n" +
		"[ci]\naws_access_key_id = AKIACI\naws_secret_access_key = " + testSecret + "\n"
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ profile, want string }{{"", "AKIADEFAULT"}, {"ci", "AKIACI"}}
	for _, tt := range tests {
		t.Run("profile "+tt.profile, func(t *testing.T) {
			cfg, err := s3client.FromEnv(env{
				"AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": tt.profile,
				"AWS_EC2_METADATA_SERVICE_ENDPOINT": deadMetadataServer(t),
			}.get, s3client.Config{})
			if err != nil {
				t.Fatal(err)
			}
			v, err := retrieve(t, cfg)
			if err != nil || v.AccessKeyID != tt.want {
				t.Fatalf("got %q, %v; want %s", v.AccessKeyID, err, tt.want)
			}
		})
	}

	t.Run("missing profile", func(t *testing.T) {
		_, err := retrieve(t, s3client.Config{SharedCredentialsFile: file, Profile: "nope", MetadataEndpoint: deadMetadataServer(t)})
		if !errors.Is(err, s3client.ErrNoCredentials) || !strings.Contains(err.Error(), `profile "nope" in `+file) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestCredentialsIRSA(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("eyJhbGciOi.jwt.token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var gotRole, gotToken string
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "AssumeRoleWithWebIdentity" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		gotRole, gotToken = r.Form.Get("RoleArn"), r.Form.Get("WebIdentityToken")
		fmt.Fprintf(w, `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIAIRSA</AccessKeyId>
<SecretAccessKey>irsa-secret</SecretAccessKey><SessionToken>irsa-token</SessionToken>
<Expiration>%s</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`,
			time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	}))
	t.Cleanup(sts.Close)

	cfg, err := s3client.FromEnv(env{
		"AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": "arn:aws:iam::123:role/flicker",
		"AWS_ENDPOINT_URL_STS": sts.URL, "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
	}.get, s3client.Config{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := retrieve(t, cfg)
	if err != nil || v.AccessKeyID != "ASIAIRSA" || v.SessionToken != "irsa-token" {
		t.Fatalf("got %q, %v", v.AccessKeyID, err)
	}
	if gotRole != "arn:aws:iam::123:role/flicker" || gotToken != "eyJhbGciOi.jwt.token" {
		t.Fatalf("STS saw role %q token %q", gotRole, gotToken)
	}
}

func TestCredentialsInstanceMetadata(t *testing.T) {
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
			fmt.Fprint(w, "imds-token")
		case r.Header.Get("X-aws-ec2-metadata-token") != "imds-token":
			http.Error(w, "unauthorized", http.StatusUnauthorized)
		case r.URL.Path == "/latest/meta-data/iam/security-credentials/":
			fmt.Fprint(w, "flicker-node")
		case r.URL.Path == "/latest/meta-data/iam/security-credentials/flicker-node":
			_ = json.NewEncoder(w).Encode(map[string]any{
				"Code": "Success", "AccessKeyId": "ASIAEC2", "SecretAccessKey": "ec2-secret", "Token": "ec2-token",
				"Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
			})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(imds.Close)
	v, err := retrieve(t, s3client.Config{SharedCredentialsFile: "/nonexistent", MetadataEndpoint: imds.URL})
	if err != nil || v.AccessKeyID != "ASIAEC2" || v.SessionToken != "ec2-token" {
		t.Fatalf("got %q, %v", v.AccessKeyID, err)
	}
}

func TestCredentialsMetadataLookupIsBounded(t *testing.T) {
	release := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // hold every request until the test ends, like an unreachable metadata address
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); hanging.Close() })

	done := make(chan error, 1)
	go func() {
		_, err := retrieve(t, s3client.Config{SharedCredentialsFile: "/nonexistent", MetadataEndpoint: hanging.URL, MetadataTimeout: 100 * time.Millisecond})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, s3client.ErrNoCredentials) || !strings.Contains(err.Error(), "instance metadata") {
			t.Fatalf("got %v; want ErrNoCredentials naming instance metadata", err)
		}
	case <-time.After(30 * time.Second): // a generous bound: without the timeout this would hang for good
		t.Fatal("the metadata lookup did not give up")
	}
}

// TestCredentialsMetadataDisabled: AWS_EC2_METADATA_DISABLED=true keeps the chain off the metadata address, and
// an empty chain's error names every link and why it yielded nothing.
func TestCredentialsMetadataDisabled(t *testing.T) {
	var asked atomic.Int32
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.NotFound(w, r)
	}))
	t.Cleanup(imds.Close)
	cfg, err := s3client.FromEnv(env{
		"AWS_EC2_METADATA_DISABLED": "TRUE", "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.URL,
		"AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
	}.get, s3client.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.MetadataDisabled {
		t.Fatalf("AWS_EC2_METADATA_DISABLED=TRUE not read: %v", cfg)
	}
	_, err = retrieve(t, cfg)
	if !errors.Is(err, s3client.ErrNoCredentials) {
		t.Fatalf("got %v, want ErrNoCredentials", err)
	}
	for _, want := range []string{"static keys: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set",
		`profile "default" in /nonexistent`, "IRSA: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN not set",
		"ECS/EC2 instance metadata: disabled by AWS_EC2_METADATA_DISABLED"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %q:\n%v", want, err)
		}
	}
	if n := asked.Load(); n != 0 {
		t.Fatalf("the metadata server was asked %d times while disabled", n)
	}

	cfg, err = s3client.FromEnv(env{"AWS_EC2_METADATA_DISABLED": "false"}.get, s3client.Config{})
	if err != nil || cfg.MetadataDisabled {
		t.Fatalf("AWS_EC2_METADATA_DISABLED=false: disabled %v, %v", cfg.MetadataDisabled, err)
	}
}
