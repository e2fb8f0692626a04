package miniotest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/internal/miniotest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, miniotest.IdleConnections()...) }

func testContext(t *testing.T) context.Context { return miniotest.Context(t) }

func put(ctx context.Context, c *minio.Client, bucket, key, body string) error {
	_, err := c.PutObject(ctx, bucket, key, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{DisableMultipart: true})
	return err
}

func get(ctx context.Context, c *minio.Client, bucket, key string) (string, error) {
	obj, err := c.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return "", err
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	return string(b), err
}

func TestStartServesS3(t *testing.T) {
	srv := miniotest.Start(t)
	if !strings.HasPrefix(srv.Endpoint(), "127.0.0.1:") || srv.URL() != "http://"+srv.Endpoint() {
		t.Fatalf("Endpoint %q, URL %q", srv.Endpoint(), srv.URL())
	}
	access, secret := srv.RootCredentials()
	if access == "" || len(secret) < 8 {
		t.Fatalf("RootCredentials = %q, %d chars", access, len(secret))
	}
	resp, err := http.Get(srv.URL() + "/minio/health/cluster")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("health: %s", resp.Status)
	}

	ctx := testContext(t)
	srv.MakeBucket(t, "flicker")
	c := srv.Client(t)
	if err := put(ctx, c, "flicker", "a/b.json", "hello"); err != nil {
		t.Fatal(err)
	}
	if got, err := get(ctx, c, "flicker", "a/b.json"); err != nil || got != "hello" {
		t.Fatalf("get = %q, %v", got, err)
	}

	// Wrong keys are refused: the server really authenticates.
	bad, err := minio.New(srv.Endpoint(), &minio.Options{Creds: credentials.NewStaticV4(access, "wrong-secret", ""), Region: miniotest.Region, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := get(ctx, bad, "flicker", "a/b.json"); minio.ToErrorResponse(err).Code != "SignatureDoesNotMatch" {
		t.Fatalf("get with a wrong secret: %v", err)
	}
}

func TestTwoServersAreIndependent(t *testing.T) {
	a, b := miniotest.Start(t), miniotest.Start(t)
	if a.Endpoint() == b.Endpoint() {
		t.Fatalf("both on %s", a.Endpoint())
	}
	a.MakeBucket(t, "only-on-a")
	ok, err := b.Client(t).BucketExists(testContext(t), "only-on-a")
	if err != nil || ok {
		t.Fatalf("bucket of a visible on b: %v, %v", ok, err)
	}
}

func TestRestartKeepsData(t *testing.T) {
	srv := miniotest.Start(t)
	ctx := testContext(t)
	srv.MakeBucket(t, "flicker")
	if err := put(ctx, srv.Client(t), "flicker", "registry.json", "snapshot-1"); err != nil {
		t.Fatal(err)
	}
	endpoint := srv.Endpoint()

	srv.Stop()
	access, secret := srv.RootCredentials()
	once, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(access, secret, ""), Region: miniotest.Region, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := get(ctx, once, "flicker", "registry.json"); err == nil {
		t.Fatal("get succeeded while the server was stopped")
	}
	srv.Stop() // stopping twice is harmless

	srv.Restart()
	if srv.Endpoint() != endpoint {
		t.Fatalf("endpoint moved from %s to %s", endpoint, srv.Endpoint())
	}
	if got, err := get(ctx, once, "flicker", "registry.json"); err != nil || got != "snapshot-1" {
		t.Fatalf("after restart: %q, %v", got, err)
	}
	srv.Restart() // restarting a running server works too
	if got, err := get(ctx, once, "flicker", "registry.json"); err != nil || got != "snapshot-1" {
		t.Fatalf("after second restart: %q, %v", got, err)
	}
}

func TestRestrictedCredentials(t *testing.T) {
	srv := miniotest.Start(t)
	ctx := testContext(t)
	srv.MakeBucket(t, "flicker")
	root := srv.Client(t)
	if err := put(ctx, root, "flicker", "elsewhere.json", "root's"); err != nil {
		t.Fatal(err)
	}

	access, secret, token := srv.RestrictedCredentials(t, "flicker", "reg/")
	if token == "" {
		t.Fatal("no session token")
	}
	c, err := minio.New(srv.Endpoint(), &minio.Options{Creds: credentials.NewStaticV4(access, secret, token), Region: miniotest.Region})
	if err != nil {
		t.Fatal(err)
	}
	if err := put(ctx, c, "flicker", "reg/registry.json", "mine"); err != nil {
		t.Fatalf("put under the prefix: %v", err)
	}
	if got, err := get(ctx, c, "flicker", "reg/registry.json"); err != nil || got != "mine" {
		t.Fatalf("get under the prefix: %q, %v", got, err)
	}
	if _, err := c.StatObject(ctx, "flicker", "reg/registry.json", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("head under the prefix: %v", err)
	}

	denied := map[string]error{}
	denied["put elsewhere"] = put(ctx, c, "flicker", "elsewhere.json", "overwrite")
	_, denied["get elsewhere"] = get(ctx, c, "flicker", "elsewhere.json")
	listCtx, stopList := context.WithCancel(ctx)
	for obj := range c.ListObjects(listCtx, "flicker", minio.ListObjectsOptions{}) {
		denied["list"] = obj.Err
		break
	}
	stopList()
	denied["delete"] = c.RemoveObject(ctx, "flicker", "reg/registry.json", minio.RemoveObjectOptions{})
	denied["make bucket"] = c.MakeBucket(ctx, "other", minio.MakeBucketOptions{})
	for what, err := range denied {
		if er := minio.ToErrorResponse(err); er.Code != "AccessDenied" {
			t.Errorf("%s: got %v (code %q), want AccessDenied", what, err, er.Code)
		}
	}
	if got, err := get(ctx, root, "flicker", "elsewhere.json"); err != nil || got != "root's" {
		t.Fatalf("object outside the prefix changed: %q, %v", got, err)
	}
}

// fatalTB records Fatalf instead of failing the real test, so the failure path of Start can be checked.
type fatalTB struct {
	testing.TB
	msg string
}

type fatalCalled struct{}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(fatalCalled{})
}

func TestMissingBinaryFailsNamingMakeTools(t *testing.T) {
	notExec := filepath.Join(t.TempDir(), "minio")
	if err := os.WriteFile(notExec, []byte("not a program"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{
		"missing":        filepath.Join(t.TempDir(), "no-such-minio"),
		"not executable": notExec,
		"a directory":    t.TempDir(),
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(miniotest.EnvBinary, path)
			if _, err := miniotest.Binary(); err == nil || !strings.Contains(err.Error(), "make tools") || !strings.Contains(err.Error(), path) {
				t.Fatalf("Binary() error = %v; want one naming %s and `make tools`", err, path)
			}

			fake := &fatalTB{TB: t}
			func() {
				defer func() {
					if r := recover(); r != nil {
						if _, ok := r.(fatalCalled); !ok {
							panic(r)
						}
					}
				}()
				miniotest.Start(fake)
				t.Error("Start returned with a missing binary")
			}()
			if !strings.Contains(fake.msg, "make tools") {
				t.Fatalf("Start failed with %q; want it to name `make tools`", fake.msg)
			}
		})
	}
}

func TestDefaultBinaryIsTheMakefilePin(t *testing.T) {
	t.Setenv(miniotest.EnvBinary, "")
	path, err := miniotest.Binary()
	if err != nil {
		t.Fatalf("the binary `make tools` installs is missing: %v", err)
	}
	if !strings.HasSuffix(path, "/.cache/flicker-tools/minio-"+miniotest.Version) {
		t.Fatalf("Binary() = %s", path)
	}
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(makefile, []byte("MINIO_VERSION := "+miniotest.Version+"\n")) {
		t.Fatalf("the Makefile does not pin MINIO_VERSION := %s", miniotest.Version)
	}
}
