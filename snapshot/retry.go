package snapshot

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/rs/zerolog"
)

// RetryWhileUnreachable runs fn until it succeeds, fails with an answer from S3 (see Retryable), or timeout passes
// (--restore-timeout), with capped backoff and jitter between attempts. what names the step in logs and errors.
// When ctx ends first (a stop signal), the error says so and wraps ctx's cause, rather than calling S3
// unreachable.
func RetryWhileUnreachable(ctx context.Context, timeout time.Duration, log zerolog.Logger, what string,
	fn func(context.Context) error) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	backoff := 250 * time.Millisecond
	start := time.Now()
	giveUp := func(err error) error {
		if parent.Err() != nil {
			return fmt.Errorf("%s: interrupted (%w) after %s: %w", what, context.Cause(parent),
				time.Since(start).Round(time.Millisecond), err)
		}
		return fmt.Errorf("%s: S3 unreachable for %s (--restore-timeout): %w", what, timeout, err)
	}
	for {
		err := fn(ctx)
		if err != nil && ctx.Err() != nil {
			return giveUp(err)
		}
		if err == nil || !Retryable(err) {
			return err
		}
		log.Warn().Err(err).Dur("retrying_for", time.Since(start)).Dur("timeout", timeout).
			Msg("S3 does not answer; retrying " + what)
		t := time.NewTimer(backoff + rand.N(backoff/2))
		select {
		case <-ctx.Done():
			t.Stop()
			return giveUp(err)
		case <-t.C:
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}
