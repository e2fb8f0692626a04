package snapshot

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// LeaseState is what metrics and logs show of a lease.
type LeaseState struct {
	Held, Lost bool
	Epoch      uint64
	// LastRenewed is when the last successful acquire, renewal or release was written (by the lease's clock).
	LastRenewed time.Time
	// Unconfirmed means the last renewal failed with a network error (or timeout, or 5xx): the lease is still ours
	// as far as we know, but S3 has not said so lately.
	Unconfirmed bool
}

// published is what publish records: the State, and what Confirmed and WaitConfirmed need.
type published struct {
	LeaseState
	until   time.Time     // l.confirmed plus TTL while held; zero otherwise
	changed chan struct{} // closed when the next state is published
}

// State returns the lease's state without waiting for a write in flight, so a metrics scrape never blocks on S3.
func (l *Lease) State() LeaseState {
	if s := l.state.Load(); s != nil {
		return s.LeaseState
	}
	return LeaseState{}
}

// publish records the state for State and wakes WaitConfirmed. Callers hold l.mu.
func (l *Lease) publish(unconfirmed bool) {
	next := &published{LeaseState: LeaseState{Held: l.held, Lost: l.lost, Epoch: l.rec.Epoch,
		LastRenewed: l.rec.Renewed, Unconfirmed: unconfirmed && l.held}, changed: make(chan struct{})}
	if l.held {
		next.until = l.confirmed.Add(l.opts.TTL)
	}
	if prev := l.state.Swap(next); prev != nil {
		close(prev.changed)
	}
}

// Confirmed reports whether this instance may act as the registry's one writer now: it holds the lease, and its
// last write of the lease that S3 confirmed was sent less than one TTL ago by this process's monotonic clock
// (opts.Now). Until then no other instance can have taken the lease over, since a taker waits TTL plus Skew after
// it last saw the record change. It does not wait for a write in flight and makes no request, so it answers at
// once after the process was stopped (SIGSTOP) or cut off from S3 for longer than the TTL.
func (l *Lease) Confirmed() bool {
	s := l.state.Load()
	return s != nil && s.Held && l.opts.Now().Before(s.until)
}

// WaitConfirmed returns nil at once while Confirmed; otherwise it waits until a renewal (by Keep, or any write of
// the lease) confirms the lease again. It returns an error wrapping ErrLeaseLost once the lease is lost, another
// error when it is not held (never acquired, or released), and ctx.Err() when ctx ends first.
func (l *Lease) WaitConfirmed(ctx context.Context) error {
	for {
		s := l.state.Load()
		switch {
		case s != nil && s.Lost:
			return fmt.Errorf("confirm lease %s: %w", l.opts.Key, ErrLeaseLost)
		case s == nil || !s.Held:
			return fmt.Errorf("confirm lease %s: not held", l.opts.Key)
		case l.opts.Now().Before(s.until):
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.changed:
		}
	}
}

// Keep renews the lease every `every` (zero: TTL/3) until ctx ends (returns nil) or the lease is lost (returns an
// error wrapping ErrLeaseLost). Network errors are logged (Warn, with how long since the last successful renewal)
// and retried sooner (every/2); the lease stays ours as far as we know (DESIGN: lost only on 412/404). Each
// renewal is bounded by TTL/3, so a hung connection cannot use up the TTL. A lease that is not held (never
// acquired, or released) is an error at the first renewal. Call it after Acquire, from the goroutine that owns
// the lease's lifetime; Release after it returned.
func (l *Lease) Keep(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		every = l.opts.TTL / 3
	}
	timeout := l.opts.TTL / 3
	var (
		warn    repeatWarning
		failing time.Time // when the current run of failed renewals began; zero while they succeed
	)
	timer := time.NewTimer(every)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		rctx, cancel := context.WithTimeout(ctx, timeout)
		err := l.Renew(rctx)
		cancel()
		now := l.opts.Now()
		wait := every
		switch {
		case err == nil:
			if !failing.IsZero() {
				l.log.Info().Dur("outage", now.Sub(failing)).Msg("lease renewals resumed")
				failing = time.Time{}
				warn.reset()
			}
		case errors.Is(err, ErrLeaseLost):
			return err
		case ctx.Err() != nil:
			return nil
		case !l.State().Held:
			return fmt.Errorf("keep lease %s: %w", l.opts.Key, err)
		default:
			if failing.IsZero() {
				failing = now
			}
			wait = every / 2
			since := "never"
			if st := l.State(); !st.LastRenewed.IsZero() {
				since = now.Sub(st.LastRenewed).Round(time.Millisecond).String()
			}
			warn.event(l.log, now).Err(err).Str("since_last_renewal", since).Dur("retry_in", wait).
				Msg("lease renewal failed; the lease is still ours as far as we know")
		}
		timer.Reset(wait)
	}
}
