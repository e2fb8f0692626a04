package miniotest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/flickerlog/flicker/internal/miniotest"
)

// proxied starts MinIO with a bucket and returns it, a proxy in front of it, and a client through the
// proxy that does not retry (so each fault shows).
func proxied(t *testing.T) (*miniotest.Server, *miniotest.Proxy, *minio.Client) {
	t.Helper()
	srv := miniotest.Start(t)
	srv.MakeBucket(t, "flicker")
	proxy := miniotest.NewProxy(t, srv.Endpoint())
	access, secret := srv.RootCredentials()
	c, err := minio.New(proxy.Endpoint(), &minio.Options{Creds: credentials.NewStaticV4(access, secret, ""), Region: miniotest.Region, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	return srv, proxy, c
}

func TestProxyForwards(t *testing.T) {
	_, proxy, c := proxied(t)
	ctx := testContext(t)
	if proxy.URL() != "http://"+proxy.Endpoint() {
		t.Fatalf("URL %q", proxy.URL())
	}
	for i := 0; i < 3; i++ { // several requests over kept-alive connections
		if err := put(ctx, c, "flicker", "k", "v"); err != nil {
			t.Fatal(err)
		}
		if got, err := get(ctx, c, "flicker", "k"); err != nil || got != "v" {
			t.Fatalf("get = %q, %v", got, err)
		}
	}
}

func TestProxyPauseStallsUntilResume(t *testing.T) {
	_, proxy, c := proxied(t)
	ctx := testContext(t)
	if err := put(ctx, c, "flicker", "k", "v"); err != nil {
		t.Fatal(err)
	}

	proxy.Pause()
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err := get(short, c, "flicker", "k")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("get while paused: %v; want it to stall until the deadline", err)
	}

	done := make(chan error, 1)
	go func() {
		_, err := get(ctx, c, "flicker", "k")
		done <- err
	}()
	waitFor(t, func() bool { return proxy.Connections() > 0 })
	proxy.Resume()
	if err := <-done; err != nil {
		t.Fatalf("a request stalled by Pause failed after Resume: %v", err)
	}
}

func TestProxyResetConnections(t *testing.T) {
	_, proxy, c := proxied(t)
	ctx := testContext(t)
	proxy.Pause() // hold the request in flight so the reset hits it
	done := make(chan error, 1)
	go func() {
		_, err := get(ctx, c, "flicker", "k")
		done <- err
	}()
	waitFor(t, func() bool { return proxy.Connections() > 0 })
	proxy.ResetConnections()
	err := <-done
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("get on a reset connection: %v; want a connection error", err)
	}
	proxy.Resume()
	if err := put(ctx, c, "flicker", "k", "after"); err != nil {
		t.Fatalf("new connections after a reset: %v", err)
	}
}

func TestProxyDropRepliesAfterTheServerActed(t *testing.T) {
	srv, proxy, c := proxied(t)
	ctx := testContext(t)
	proxy.DropReplies(true)
	if err := put(ctx, c, "flicker", "registry.json", "stored-but-unacknowledged"); err == nil {
		t.Fatal("put succeeded although its reply was dropped")
	}
	proxy.DropReplies(false)
	if got, err := get(ctx, srv.Client(t), "flicker", "registry.json"); err != nil || got != "stored-but-unacknowledged" {
		t.Fatalf("the server did not store the put: %q, %v", got, err)
	}
}

func TestProxyDelayRepliesHoldsEachAnswer(t *testing.T) {
	_, proxy, c := proxied(t)
	ctx := testContext(t)
	if err := put(ctx, c, "flicker", "k", "v"); err != nil {
		t.Fatal(err)
	}
	const delay = 300 * time.Millisecond
	proxy.DelayReplies(delay)
	start := time.Now()
	for range 2 { // two answers on one kept-alive connection: each is held
		if got, err := get(ctx, c, "flicker", "k"); err != nil || got != "v" {
			t.Fatalf("get while delayed = %q, %v", got, err)
		}
	}
	if took := time.Since(start); took < 2*delay {
		t.Fatalf("two answers took %s, want each held for %s", took, delay)
	}
	proxy.DelayReplies(0)
	if got, err := get(ctx, c, "flicker", "k"); err != nil || got != "v" {
		t.Fatalf("get after the delay was lifted = %q, %v", got, err)
	}
}

func TestProxyFollowsTargetRestarts(t *testing.T) {
	srv, _, c := proxied(t)
	ctx := testContext(t)
	srv.Stop()
	if err := put(ctx, c, "flicker", "k", "v"); err == nil {
		t.Fatal("put succeeded with the server stopped")
	}
	srv.Restart()
	if err := put(ctx, c, "flicker", "k", "v"); err != nil {
		t.Fatalf("put through the proxy after a restart: %v", err)
	}
}

// waitFor polls cond with a generous bound (a condition, not a timing assertion).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
