package s3client_test

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/internal/miniotest"
	"github.com/flickerlog/flicker/internal/s3client"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, miniotest.IdleConnections()...) }

func testContext(t *testing.T) context.Context { return miniotest.Context(t) }

// clientFor builds a client the way flicker does, from an environment pointing at srv.
func clientFor(t *testing.T, srv *miniotest.Server, vars env) *minio.Client {
	t.Helper()
	e := env{
		"AWS_ENDPOINT_URL":            srv.URL(),
		"AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials", // keep the host's files out of the test
	}
	for k, v := range vars {
		e[k] = v
	}
	cfg, err := s3client.FromEnv(e.get, s3client.Config{MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s3client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func putString(ctx context.Context, c *minio.Client, bucket, key, body string, opts minio.PutObjectOptions) (minio.UploadInfo, error) {
	opts.DisableMultipart = true
	return c.PutObject(ctx, bucket, key, strings.NewReader(body), int64(len(body)), opts)
}

func getString(ctx context.Context, c *minio.Client, bucket, key string) (string, error) {
	obj, err := c.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return "", err
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	return string(b), err
}

func TestStaticKeysPutAndGet(t *testing.T) {
	srv := miniotest.Start(t)
	srv.MakeBucket(t, "logs")
	access, secret := srv.RootCredentials()
	c := clientFor(t, srv, env{"AWS_ACCESS_KEY_ID": access, "AWS_SECRET_ACCESS_KEY": secret})
	ctx := testContext(t)

	if _, err := putString(ctx, c, "logs", "flicker/registry.json", "state", minio.PutObjectOptions{}); err != nil {
		t.Fatal(s3client.Explain(err, s3client.OpPutObject, "logs", "flicker/registry.json"))
	}
	if got, err := getString(ctx, c, "logs", "flicker/registry.json"); err != nil || got != "state" {
		t.Fatalf("get = %q, %v", got, err)
	}
}

func TestRestrictedCredentialsAreExplained(t *testing.T) {
	srv := miniotest.Start(t)
	srv.MakeBucket(t, "logs")
	ctx := testContext(t)
	if _, err := putString(ctx, srv.Client(t), "logs", "other/object", "root's", minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	access, secret, token := srv.RestrictedCredentials(t, "logs", "flicker/")
	c := clientFor(t, srv, env{"AWS_ACCESS_KEY_ID": access, "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": token})

	if _, err := putString(ctx, c, "logs", "flicker/registry.json", "state", minio.PutObjectOptions{}); err != nil {
		t.Fatalf("put under the prefix: %v", s3client.Explain(err, s3client.OpPutObject, "logs", "flicker/registry.json"))
	}
	if got, err := getString(ctx, c, "logs", "flicker/registry.json"); err != nil || got != "state" {
		t.Fatalf("get under the prefix = %q, %v", got, err)
	}

	tests := []struct {
		op   string
		key  string
		call func() error
		want string
	}{
		{s3client.OpPutObject, "other/new", func() error {
			_, err := putString(ctx, c, "logs", "other/new", "x", minio.PutObjectOptions{})
			return err
		}, "s3:PutObject on arn:aws:s3:::logs/other/new"},
		{s3client.OpGetObject, "other/object", func() error {
			_, err := getString(ctx, c, "logs", "other/object")
			return err
		}, "s3:GetObject on arn:aws:s3:::logs/other/object"},
		{s3client.OpHeadObject, "other/object", func() error {
			_, err := c.StatObject(ctx, "logs", "other/object", minio.StatObjectOptions{})
			return err
		}, "s3:GetObject on arn:aws:s3:::logs/other/object"},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			err := tt.call()
			if minio.ToErrorResponse(err).StatusCode != 403 {
				t.Fatalf("%s %s: %v, want 403", tt.op, tt.key, err)
			}
			explained := s3client.Explain(err, tt.op, "logs", tt.key)
			msg := explained.Error()
			if !strings.Contains(msg, "access denied") || !strings.Contains(msg, tt.want) {
				t.Fatalf("explained as %q; want it to name %q", msg, tt.want)
			}
			if s3client.ToErrorResponse(explained).StatusCode != 403 {
				t.Fatalf("the S3 error is lost: %+v", s3client.ToErrorResponse(explained))
			}
			for _, s := range []string{secret, token} {
				if strings.Contains(msg, s) {
					t.Fatalf("a secret leaked into %q", msg)
				}
			}
		})
	}
}

func TestConditionalPutOnExistingKeyIs412(t *testing.T) {
	srv := miniotest.Start(t)
	srv.MakeBucket(t, "logs")
	access, secret := srv.RootCredentials()
	c := clientFor(t, srv, env{"AWS_ACCESS_KEY_ID": access, "AWS_SECRET_ACCESS_KEY": secret})
	ctx := testContext(t)

	create := minio.PutObjectOptions{}
	create.SetMatchETagExcept("*")
	first, err := putString(ctx, c, "logs", "lease", "a", create)
	if err != nil {
		t.Fatalf("create on an absent key: %v", err)
	}
	_, err = putString(ctx, c, "logs", "lease", "b", create)
	if er := minio.ToErrorResponse(err); er.StatusCode != 412 || er.Code != "PreconditionFailed" {
		t.Fatalf("create on an existing key: %v (status %d, code %q); want 412 PreconditionFailed", err, er.StatusCode, er.Code)
	}
	if explained := s3client.Explain(err, s3client.OpPutObject, "logs", "lease"); s3client.ToErrorResponse(explained).StatusCode != 412 {
		t.Fatalf("Explain lost the 412: %v", explained)
	}

	cas := minio.PutObjectOptions{}
	cas.SetMatchETag(first.ETag)
	if _, err := putString(ctx, c, "logs", "lease", "c", cas); err != nil {
		t.Fatalf("If-Match on the current ETag: %v", err)
	}
	if _, err := putString(ctx, c, "logs", "lease", "d", cas); minio.ToErrorResponse(err).StatusCode != 412 {
		t.Fatalf("If-Match on a stale ETag: %v; want 412", err)
	}
	if _, err := putString(ctx, c, "logs", "missing", "e", cas); minio.ToErrorResponse(err).StatusCode != 404 {
		t.Fatalf("If-Match on a missing key: %v; want 404", err)
	}
	if got, err := getString(ctx, c, "logs", "lease"); err != nil || got != "c" {
		t.Fatalf("lease = %q, %v; want the winning write", got, err)
	}
}

func TestWrongKeysAreExplainedWithoutLeaking(t *testing.T) {
	srv := miniotest.Start(t)
	srv.MakeBucket(t, "logs")
	access, _ := srv.RootCredentials()
	tests := []struct {
		name, token, wantCode, wantHint string
	}{
		{"wrong secret", "", "SignatureDoesNotMatch", "AWS_SECRET_ACCESS_KEY"},
		{"bogus session token", testToken, "InvalidTokenId", "AWS_SESSION_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clientFor(t, srv, env{"AWS_ACCESS_KEY_ID": access, "AWS_SECRET_ACCESS_KEY": testSecret, "AWS_SESSION_TOKEN": tt.token})
			_, err := putString(testContext(t), c, "logs", "k", "x", minio.PutObjectOptions{})
			if code := minio.ToErrorResponse(err).Code; code != tt.wantCode {
				t.Fatalf("put: %v (code %q); want %s", err, code, tt.wantCode)
			}
			explained := s3client.Explain(err, s3client.OpPutObject, "logs", "k")
			assertNoSecret(t, err.Error())
			assertNoSecret(t, explained.Error())
			if !strings.Contains(explained.Error(), tt.wantHint) {
				t.Fatalf("explained as %q; want it to point at %s", explained, tt.wantHint)
			}
		})
	}
}

func TestNoSuchBucketNamesIt(t *testing.T) {
	srv := miniotest.Start(t)
	access, secret := srv.RootCredentials()
	c := clientFor(t, srv, env{"AWS_ACCESS_KEY_ID": access, "AWS_SECRET_ACCESS_KEY": secret})
	_, err := getString(testContext(t), c, "no-such-bucket", "k")
	explained := s3client.Explain(err, s3client.OpGetObject, "no-such-bucket", "k")
	if explained == nil || !strings.Contains(explained.Error(), `bucket "no-such-bucket" does not exist`) {
		t.Fatalf("explained as %v", explained)
	}
}

func TestUnreachableEndpointIsExplained(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now

	cfg, err := s3client.FromEnv(env{
		"AWS_ENDPOINT_URL": "http://" + addr, "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": testSecret,
	}.get, s3client.Config{MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s3client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = getString(testContext(t), c, "logs", "k")
	explained := s3client.Explain(err, s3client.OpGetObject, "logs", "k")
	if explained == nil || !strings.Contains(explained.Error(), "connection refused") || !strings.Contains(explained.Error(), "AWS_ENDPOINT_URL") {
		t.Fatalf("explained as %v", explained)
	}
	assertNoSecret(t, explained.Error())
}

func TestNoCredentialsIsAnErrorNotAnonymous(t *testing.T) {
	srv := miniotest.Start(t)
	srv.MakeBucket(t, "logs")
	// Anonymous access would be allowed here, so a silent fall back to anonymous would succeed.
	if err := srv.Client(t).SetBucketPolicy(testContext(t), "logs",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::logs/*"]}]}`); err != nil {
		t.Fatal(err)
	}
	imds := deadMetadataServer(t)
	cfg, err := s3client.FromEnv(env{
		"AWS_ENDPOINT_URL": srv.URL(), "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds,
	}.get, s3client.Config{MaxRetries: 1, MetadataTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s3client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = putString(testContext(t), c, "logs", "k", "anonymous?", minio.PutObjectOptions{})
	if !errors.Is(err, s3client.ErrNoCredentials) {
		t.Fatalf("put without credentials: %v; want ErrNoCredentials", err)
	}
	for _, want := range []string{"/nonexistent/credentials", "instance metadata", "AWS_ACCESS_KEY_ID"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not mention %q", err, want)
		}
	}
}

// TestRequestsCountsEveryRequest: a client built with Config.Requests counts each request it sends by method and
// by the kind its classifier names, as the store would bill them.
func TestRequestsCountsEveryRequest(t *testing.T) {
	srv := miniotest.Start(t)
	srv.MakeBucket(t, "counted")
	e := env{"AWS_ENDPOINT_URL": srv.URL(), "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
		"AWS_S3_FORCE_PATH_STYLE": "true"}
	access, secret := srv.RootCredentials()
	e["AWS_ACCESS_KEY_ID"], e["AWS_SECRET_ACCESS_KEY"] = access, secret
	cfg, err := s3client.FromEnv(e.get, s3client.Config{MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	cfg.Requests = s3client.NewRequests(func(path string) string {
		paths = append(paths, path)
		if strings.HasSuffix(path, ".lease") {
			return "lease"
		}
		return "snapshot"
	})
	c, err := s3client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	for range 2 {
		if _, err := putString(ctx, c, "counted", "r/registry.json.lease", "x", minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := getString(ctx, c, "counted", "r/registry.json.lease"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StatObject(ctx, "counted", "r/registry.json", minio.StatObjectOptions{}); err == nil {
		t.Fatal("HEAD of a missing key succeeded")
	}
	want := []s3client.RequestCount{
		{RequestKind: s3client.RequestKind{Op: "GET", KeyKind: "lease"}, N: 1},
		{RequestKind: s3client.RequestKind{Op: "PUT", KeyKind: "lease"}, N: 2},
		{RequestKind: s3client.RequestKind{Op: "HEAD", KeyKind: "snapshot"}, N: 1}, // a 404 is billed too
	}
	if got := cfg.Requests.Counts(); !slices.Equal(got, want) {
		t.Fatalf("counts %+v, want %+v (paths %q)", got, want, paths)
	}
	if n := cfg.Requests.Count("PUT", "lease"); n != 2 {
		t.Fatalf("Count(PUT, lease) = %d", n)
	}
	if paths[0] != "/counted/r/registry.json.lease" {
		t.Fatalf("classifier got %q, want the path-style URL path", paths[0])
	}
}
