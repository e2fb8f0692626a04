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
	// LastConfirmed is when the last write S3 confirmed was sent (by the lease's clock): of the lease, or a
	// conditional upload of the latest (LeaseOptions.Latest). A busy writer's is recent while LastRenewed is old.
	LastConfirmed time.Time
	// Unconfirmed means the last renewal failed with a network error (or timeout, or 5xx): the lease is still ours
	// as far as we know, but S3 has not said so lately.
	Unconfirmed bool
}

// published is what publish records: the State, and what Confirmed, WaitConfirmed and Keep need.
type published struct {
	LeaseState
	awaiting bool          // l.awaitUpload
	from     time.Time     // Confirmed not before this (HoldAfterTakeover); zero: no hold
	until    time.Time     // l.confirmed plus TTL while held (and not awaiting an upload); zero otherwise
	changed  chan struct{} // closed when the next state is published
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
		LastRenewed: l.rec.Renewed, LastConfirmed: l.confirmed, Unconfirmed: unconfirmed && l.held},
		changed: make(chan struct{})}
	next.awaiting = l.held && l.awaitUpload
	if l.held && !l.awaitUpload {
		next.until, next.from = l.confirmed.Add(l.opts.TTL), l.holdUntil
	}
	if prev := l.state.Swap(next); prev != nil {
		close(prev.changed)
	}
}

// Confirmed reports whether this instance may act as the registry's one writer now: it holds the lease, and its
// last write that S3 confirmed (of the lease, or a conditional upload of the latest) was sent less than one TTL
// ago by this process's monotonic clock (opts.Now). Until then no other instance is Confirmed: a taker of an
// unreleased lease waits TTL plus Skew after it last saw the record (and the latest) change, and a taker of a
// released or missing one holds after its first upload when another upload landed (HoldAfterTakeover; see Lease
// for the precise guarantee). After a takeover with
// HoldAfterTakeover it is false until the old holder's confirmation has surely lapsed. It does not wait for a
// write in flight and makes no request, so it answers at once after the process was stopped (SIGSTOP) or cut off
// from S3 for longer than the TTL.
func (l *Lease) Confirmed() bool {
	s := l.state.Load()
	if s == nil || !s.Held {
		return false
	}
	now := l.opts.Now()
	return now.Before(s.until) && !now.Before(s.from)
}

// TakingOver reports whether Confirmed is false only because this instance just took over a silent holder
// (LeaseOptions.HoldAfterTakeover): it waits for its first upload of the latest, or for the old holder's
// confirmation to lapse. Makes no request.
func (l *Lease) TakingOver() bool {
	s := l.state.Load()
	return s != nil && s.Held && (s.awaiting || l.opts.Now().Before(s.from))
}

// WaitConfirmed returns nil at once while Confirmed; otherwise it waits until a renewal (by Keep, any write of
// the lease, or a conditional upload of the latest) confirms the lease again, or a hold after a takeover ends.
// It returns an error wrapping ErrLeaseLost once the lease is lost, another error when it is not held (never
// acquired, or released), and ctx.Err() when ctx ends first.
func (l *Lease) WaitConfirmed(ctx context.Context) error {
	for {
		s := l.state.Load()
		switch {
		case s != nil && s.Lost:
			return fmt.Errorf("confirm lease %s: %w", l.opts.Key, ErrLeaseLost)
		case s == nil || !s.Held:
			return fmt.Errorf("confirm lease %s: not held", l.opts.Key)
		}
		now := l.opts.Now()
		if now.Before(s.until) && !now.Before(s.from) {
			return nil
		}
		if err := waitHold(ctx, s, now); err != nil {
			return err
		}
	}
}

// waitHold waits until s changes, or, while s is confirmed but held after a takeover, until the hold ends.
func waitHold(ctx context.Context, s *published, now time.Time) error {
	var holdEnds <-chan time.Time
	if now.Before(s.until) {
		t := time.NewTimer(s.from.Sub(now))
		defer t.Stop()
		holdEnds = t.C
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.changed:
	case <-holdEnds:
	}
	return nil
}

// Keep renews the lease whenever nothing confirmed it for `every` (zero: TTL/2) until ctx ends (returns nil) or
// the lease is lost (returns an error wrapping ErrLeaseLost). A conditional upload of the latest confirms it as a
// renewal does (LeaseOptions.Latest), so a busy writer that uploads more often than `every` writes the lease
// object only at startup and release; instead it reads it (a GET, a twelfth of a PUT's price) once per `every`,
// and the lease is lost when the record there is no longer its own or is gone: a busy holder learns of a
// takeover, a release by another instance or a deletion within `every`. TTL/2 leaves the other half of the TTL for a renewal that fails to be
// retried before Confirmed lapses; renewing more often would buy nothing but requests, since a taker waits TTL
// plus Skew whatever the period. Network errors are logged (Warn, with how long since the last successful
// renewal) and retried sooner (every/4); the lease stays ours as far as we know (DESIGN: lost only on 412/404).
// Each renewal is bounded by TTL/4, so a hung connection cannot use up the TTL. A lease that is not held (never
// acquired, or released) is an error at the first renewal. Call it after Acquire, from the goroutine that owns
// the lease's lifetime; Release after it returned.
func (l *Lease) Keep(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		every = l.opts.TTL / 2
	}
	timeout := l.opts.TTL / 4
	var (
		warn    repeatWarning
		failing time.Time // when the current run of failed renewals began; zero while they succeed
		checked time.Time // when the lease object was last read instead of renewed
	)
	timer := time.NewTimer(every)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		if s := l.state.Load(); s != nil && s.Held && !s.Unconfirmed && !s.LastConfirmed.IsZero() {
			if now := l.opts.Now(); now.Sub(s.LastConfirmed) < every {
				// An upload of the latest confirmed it meanwhile: read the lease instead of writing it.
				if now.Sub(checked) >= every {
					checked = now
					rctx, cancel := context.WithTimeout(ctx, timeout)
					err := l.check(rctx)
					cancel()
					if errors.Is(err, ErrLeaseLost) {
						return err
					}
					if err != nil && ctx.Err() == nil {
						l.log.Debug().Err(err).Msg("reading the lease failed; trying again at the next period")
					}
				}
				// Wake for whichever comes first: the next renewal if uploads stop, or the next read.
				timer.Reset(min(every-now.Sub(s.LastConfirmed), every-now.Sub(checked)))
				continue
			}
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
			wait = every / 4
			since := "never"
			if st := l.State(); !st.LastConfirmed.IsZero() {
				since = now.Sub(st.LastConfirmed).Round(time.Millisecond).String()
			}
			warn.event(l.log, now).Err(err).Str("since_last_renewal", since).Dur("retry_in", wait).
				Msg("lease renewal failed; the lease is still ours as far as we know")
		}
		timer.Reset(wait)
	}
}
