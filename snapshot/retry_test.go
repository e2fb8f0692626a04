package snapshot_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/internal/s3client"
	"github.com/flickerlog/flicker/snapshot"
)

var errStop = errors.New("stopped by interrupt")

// TestRetryInterruptedIsNotUnreachable: a stop while the store does not answer ends the retries at once, and the
// error says it was interrupted (wrapping the cause), not that S3 was unreachable for the whole timeout.
func TestRetryInterruptedIsNotUnreachable(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	var calls atomic.Int32
	err := snapshot.RetryWhileUnreachable(ctx, time.Hour, zerolog.Nop(), "the probe", func(ctx context.Context) error {
		if calls.Add(1) == 2 {
			cancel(errStop) // the signal arrives during the second attempt
			<-ctx.Done()
			return ctx.Err()
		}
		return &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	})
	if err == nil || !errors.Is(err, errStop) || !strings.Contains(err.Error(), "the probe: interrupted (stopped by interrupt)") {
		t.Fatalf("got %v, want the probe interrupted by the stop", err)
	}
	if strings.Contains(err.Error(), "unreachable") || strings.Contains(err.Error(), "--restore-timeout") {
		t.Fatalf("an interrupted retry reads as a timeout: %v", err)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d attempts, want 2", n)
	}
}

// TestRetryStopsAtPermanentErrors: missing credentials and answers that waiting will not change are returned
// after one attempt, as they are.
func TestRetryStopsAtPermanentErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"no credentials", s3client.Explain(fmt.Errorf("sign: %w (set ...): static keys: not set", s3client.ErrNoCredentials),
			s3client.OpPutObject, "b", "k")},
		{"wrong secret", s3client.Explain(minio.ErrorResponse{Code: "SignatureDoesNotMatch", StatusCode: 403}, s3client.OpPutObject, "b", "k")},
		{"unknown access key", s3client.Explain(minio.ErrorResponse{Code: "InvalidAccessKeyId", StatusCode: 403}, s3client.OpPutObject, "b", "k")},
		{"access denied", s3client.Explain(minio.ErrorResponse{Code: "AccessDenied", StatusCode: 403}, s3client.OpPutObject, "b", "k")},
		{"no such bucket", s3client.Explain(minio.ErrorResponse{Code: "NoSuchBucket", StatusCode: 404}, s3client.OpPutObject, "b", "k")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			err := snapshot.RetryWhileUnreachable(context.Background(), 5*time.Second, zerolog.Nop(), "the probe", func(context.Context) error {
				calls.Add(1)
				return tt.err
			})
			if err != tt.err || calls.Load() != 1 {
				t.Fatalf("%d attempts, error %v; want one attempt returning %v", calls.Load(), err, tt.err)
			}
		})
	}
}
