package main_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/flickerlog/flicker/internal/miniotest"
	"github.com/flickerlog/flicker/snapshot"
)

// TestComposeFlickerRunsAgainstMinIO runs the compose file's flicker command line for real, in S3 mode against a
// MinIO server (internal/miniotest) standing in for the minio service: the compose environment with the endpoint
// and root credentials of this server, the state dir and HTTP address moved to free local ones, and --once so it
// exits. It must restore (a first start), ship, upload its final snapshot to the compose registry URL and exit 0.
func TestComposeFlickerRunsAgainstMinIO(t *testing.T) {
	c := loadCompose(t)
	flicker := c.Services["flicker"]
	args, _ := hostConfig(t, flicker)
	registry, ok := flagValue(args, "--registry-file")
	if !ok {
		t.Fatal("the compose command has no --registry-file")
	}
	keys := snapshot.Keys{}
	if rest, ok := strings.CutPrefix(registry, "s3://"); ok {
		keys.Bucket, keys.Latest, _ = strings.Cut(rest, "/")
	}
	srv := miniotest.Start(t)
	srv.MakeBucket(t, keys.Bucket)
	access, secret := srv.RootCredentials()

	dir := t.TempDir()
	for i, a := range args {
		switch {
		case a == "--state-dir" && i+1 < len(args):
			args[i+1] = filepath.Join(dir, "state")
		case a == "--http-addr" && i+1 < len(args):
			args[i+1] = freeAddr(t)
		}
	}
	args = append(args, "--once", "--log-format", "json")
	var env []string
	for k, v := range flicker.Environment {
		switch k {
		case "AWS_ENDPOINT_URL":
			v = srv.URL()
		case "AWS_ACCESS_KEY_ID":
			v = access
		case "AWS_SECRET_ACCESS_KEY":
			v = secret
		}
		env = append(env, k+"="+v)
	}
	env = append(env, "AWS_SESSION_TOKEN=", "AWS_PROFILE=", "AWS_ENDPOINT_URL_S3=")
	p := startEnv(t, dir, env, args...)
	if code := p.wait(2 * time.Minute); code != 0 {
		t.Fatalf("the compose command line exited %d:\n%s", code, p.logs())
	}
	if !strings.Contains(p.logs(), "final snapshot uploaded") {
		t.Fatalf("no final snapshot:\n%s", p.logs())
	}
	st, err := srv.Client(t).StatObject(miniotest.Context(t), keys.Bucket, keys.Latest, minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("no snapshot at %s: %v", registry, err)
	}
	if _, err := snapshot.HeaderFromMetadata(st.UserMetadata); err != nil {
		t.Fatalf("the object at %s is not a snapshot: %v", registry, err)
	}
}
