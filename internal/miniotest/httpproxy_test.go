package miniotest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/flickerlog/flicker/internal/miniotest"
)

// stripped starts MinIO with a bucket and returns a client straight to it and one through a ConditionStripper
// dropping the headers in strip (none: both).
func stripped(t *testing.T, strip ...string) (direct, through *minio.Client, p *miniotest.HTTPProxy) {
	t.Helper()
	srv := miniotest.Start(t)
	srv.MakeBucket(t, "flicker")
	p = miniotest.NewConditionStripper(t, srv, strip...)
	// Other credentials than the server's: the stripper signs again with its own.
	_, secret := srv.RootCredentials()
	c, err := minio.New(p.Endpoint(), &minio.Options{Creds: credentials.NewStaticV4("someone-else", secret+"x", ""),
		Region: miniotest.Region, MaxRetries: 1, TrailingHeaders: true})
	if err != nil {
		t.Fatal(err)
	}
	return srv.Client(t), c, p
}

func putWith(ctx context.Context, c *minio.Client, key, body string, cond func(*minio.PutObjectOptions)) error {
	opts := minio.PutObjectOptions{DisableMultipart: true}
	cond(&opts)
	_, err := c.PutObject(ctx, "flicker", key, strings.NewReader(body), int64(len(body)), opts)
	return err
}

func ifMatch(etag string) func(*minio.PutObjectOptions) {
	return func(o *minio.PutObjectOptions) { o.SetMatchETag(etag) }
}

func ifNoneMatch(o *minio.PutObjectOptions) { o.SetMatchETagExcept("*") }

func preconditionFailed(err error) bool {
	return minio.ToErrorResponse(err).StatusCode == http.StatusPreconditionFailed
}

func TestConditionStripperLetsRefusedWritesThrough(t *testing.T) {
	direct, through, p := stripped(t)
	ctx := testContext(t)
	if err := put(ctx, direct, "flicker", "k", "first"); err != nil {
		t.Fatal(err)
	}
	const wrongETag = "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name string
		cond func(*minio.PutObjectOptions)
	}{
		{"If-Match on a wrong ETag", ifMatch(wrongETag)},
		{"If-None-Match: * on an existing object", ifNoneMatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := putWith(ctx, direct, "k", "refused", tc.cond); !preconditionFailed(err) {
				t.Fatalf("MinIO itself answered %v, want 412", err)
			}
			before := p.Stripped()
			body := "through the stripper: " + tc.name
			if err := putWith(ctx, through, "k", body, tc.cond); err != nil {
				t.Fatalf("conditional PUT through the stripper: %v; want it stored", err)
			}
			if got, err := get(ctx, direct, "flicker", "k"); err != nil || got != body {
				t.Fatalf("MinIO holds %q, %v; want %q", got, err, body)
			}
			if p.Stripped() != before+1 {
				t.Fatalf("Stripped went from %d to %d, want one more", before, p.Stripped())
			}
		})
	}
}

// TestConditionStripperOneHeader: a stripper told to drop If-None-Match only plays a store that honours If-Match.
func TestConditionStripperOneHeader(t *testing.T) {
	direct, through, _ := stripped(t, "If-None-Match")
	ctx := testContext(t)
	if err := put(ctx, direct, "flicker", "k", "first"); err != nil {
		t.Fatal(err)
	}
	if err := putWith(ctx, through, "k", "second", ifMatch("0123456789abcdef0123456789abcdef")); !preconditionFailed(err) {
		t.Fatalf("If-Match on a wrong ETag through the stripper: %v, want 412", err)
	}
	if err := putWith(ctx, through, "k", "third", ifNoneMatch); err != nil {
		t.Fatalf("If-None-Match: * through the stripper: %v, want it stored", err)
	}
}

// TestConditionStripperOrdinaryRequests: reads, metadata, multi-chunk streaming bodies with trailing checksums and
// conditional reads work through the stripper as they do on MinIO.
func TestConditionStripperOrdinaryRequests(t *testing.T) {
	direct, through, p := stripped(t)
	ctx := testContext(t)
	big := make([]byte, 200<<10) // several aws-chunked chunks (64 KiB each)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	info, err := through.PutObject(ctx, "flicker", "dir/big", bytes.NewReader(big), int64(len(big)), minio.PutObjectOptions{
		DisableMultipart: true, SendContentMd5: true, ContentType: "application/octet-stream",
		UserMetadata: map[string]string{"Flicker-Seq": "42"}, Checksum: minio.ChecksumCRC32C})
	if err != nil {
		t.Fatalf("PUT with metadata and a trailing checksum: %v", err)
	}
	obj, err := direct.GetObject(ctx, "flicker", "dir/big", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	obj.Close()
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("MinIO holds %d bytes (%v), want the %d put", len(got), err, len(big))
	}

	st, err := through.StatObject(ctx, "flicker", "dir/big", minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("HEAD: %v", err)
	}
	if st.Size != int64(len(big)) || st.UserMetadata["Flicker-Seq"] != "42" || st.ETag != info.ETag ||
		st.ContentType != "application/octet-stream" {
		t.Fatalf("HEAD = size %d, metadata %v, etag %q (put: %q), type %q", st.Size, st.UserMetadata, st.ETag, info.ETag, st.ContentType)
	}

	obj, err = through.GetObject(ctx, "flicker", "dir/big", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err = io.ReadAll(obj)
	obj.Close()
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("GET through the stripper: %d bytes, %v", len(got), err)
	}

	// Reads keep their conditions: GCS honours them too.
	var cond minio.GetObjectOptions
	if err := cond.SetMatchETag("0123456789abcdef0123456789abcdef"); err != nil {
		t.Fatal(err)
	}
	if _, err := through.StatObject(ctx, "flicker", "dir/big", cond); !preconditionFailed(err) {
		t.Fatalf("HEAD with If-Match on a wrong ETag: %v, want 412", err)
	}
	if _, err := through.StatObject(ctx, "flicker", "missing", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Fatalf("HEAD of a missing key: %v, want NoSuchKey", err)
	}
	if p.Stripped() != 0 {
		t.Fatalf("Stripped = %d after requests without conditional writes", p.Stripped())
	}
}

// TestConditionStripperRejectsBrokenChunks: a streaming body that is not aws-chunked is refused, not forwarded cut.
func TestConditionStripperRejectsBrokenChunks(t *testing.T) {
	_, _, p := stripped(t)
	req, err := http.NewRequestWithContext(testContext(t), http.MethodPut, p.URL()+"/flicker/k", strings.NewReader("zz;chunk-signature=x\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(msg), "chunk size") {
		t.Fatalf("broken chunks: %s %q, want 400 naming the chunk size", resp.Status, msg)
	}
}

// TestHTTPProxyHold: held requests wait while others pass, and go through on Release; a client that gives up on a
// held request gets an error, and the proxy forwards nothing of it.
func TestHTTPProxyHold(t *testing.T) {
	srv := miniotest.Start(t)
	srv.MakeBucket(t, "flicker")
	p := miniotest.NewHTTPProxy(t, srv)
	access, secret := srv.RootCredentials()
	c, err := minio.New(p.Endpoint(), &minio.Options{Creds: credentials.NewStaticV4(access, secret, ""),
		Region: miniotest.Region, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	p.Hold(func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, ".lease") })

	short, cancel := context.WithCancel(ctx)
	gaveUp := make(chan error, 1)
	go func() { gaveUp <- put(short, c, "flicker", "abandoned.lease", "never") }()
	waitFor(t, func() bool { return p.Held() == 1 })
	cancel()
	if err := <-gaveUp; err == nil {
		t.Fatal("a held request that its client gave up on succeeded")
	}
	waitFor(t, func() bool { return p.Held() == 0 })

	done := make(chan error, 1)
	go func() { done <- put(ctx, c, "flicker", "registry.json.lease", "held") }()
	waitFor(t, func() bool { return p.Held() == 1 })
	if err := put(ctx, c, "flicker", "registry.json", "passes"); err != nil {
		t.Fatalf("a request not held: %v", err)
	}
	select {
	case err := <-done:
		t.Fatalf("the held request ended before Release: %v", err)
	default:
	}
	p.Release()
	if err := <-done; err != nil {
		t.Fatalf("the held request after Release: %v", err)
	}
	if got, err := get(ctx, srv.Client(t), "flicker", "registry.json.lease"); err != nil || got != "held" {
		t.Fatalf("MinIO holds %q, %v after Release", got, err)
	}
	if _, err := srv.Client(t).StatObject(ctx, "flicker", "abandoned.lease", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Fatalf("the abandoned request reached MinIO: %v", err)
	}
	if err := put(ctx, c, "flicker", "again.lease", "not held"); err != nil {
		t.Fatalf("after Release: %v", err)
	}
}

// TestHTTPProxyDropReplies: a matched request reaches MinIO, which acts on it, but its client gets no answer.
func TestHTTPProxyDropReplies(t *testing.T) {
	srv := miniotest.Start(t)
	srv.MakeBucket(t, "flicker")
	p := miniotest.NewHTTPProxy(t, srv)
	access, secret := srv.RootCredentials()
	c, err := minio.New(p.Endpoint(), &minio.Options{Creds: credentials.NewStaticV4(access, secret, ""),
		Region: miniotest.Region, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	p.DropReplies(func(r *http.Request, _ []byte) bool {
		return r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, ".lease")
	})
	if err := put(ctx, c, "flicker", "registry.json.lease", "landed"); err == nil {
		t.Fatal("a PUT whose reply was dropped succeeded for its client")
	}
	if got, err := get(ctx, srv.Client(t), "flicker", "registry.json.lease"); err != nil || got != "landed" {
		t.Fatalf("MinIO holds %q, %v: the request did not reach it", got, err)
	}
	if err := put(ctx, c, "flicker", "registry.json", "answered"); err != nil {
		t.Fatalf("a request not matched: %v", err)
	}
	if p.Dropped() != 1 {
		t.Fatalf("%d replies dropped, want 1", p.Dropped())
	}
}

// TestHTTPProxyCountsRequests: every request the proxy receives is counted by method and path, a refused one too.
func TestHTTPProxyCountsRequests(t *testing.T) {
	srv := miniotest.Start(t)
	srv.MakeBucket(t, "flicker")
	p := miniotest.NewHTTPProxy(t, srv)
	access, secret := srv.RootCredentials()
	c, err := minio.New(p.Endpoint(), &minio.Options{Creds: credentials.NewStaticV4(access, secret, ""),
		Region: miniotest.Region, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	for range 2 {
		if err := put(ctx, c, "flicker", "registry.json", "x"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.StatObject(ctx, "flicker", "missing", minio.StatObjectOptions{}); err == nil {
		t.Fatal("HEAD of a missing key succeeded")
	}
	got := p.Requests()
	if got["PUT /flicker/registry.json"] != 2 || got["HEAD /flicker/missing"] != 1 || len(got) != 2 {
		t.Fatalf("requests %v, want 2 PUTs of registry.json and 1 HEAD of missing", got)
	}
}
