package miniotest

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// IdleConnections are the goleak options that S3 tests need: minio-go keeps idle keep-alive connections in its
// transport's pool, whose goroutines are not leaks.
func IdleConnections() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	}
}

// Context returns a context for one test's S3 calls, bounded to a minute and cancelled when the test ends.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
