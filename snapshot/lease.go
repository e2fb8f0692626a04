package snapshot

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"
)

// Lease defaults (LeaseOptions).
const (
	DefaultLeaseTTL  = 15 * time.Second
	DefaultLeaseSkew = 2 * time.Second
)

// maxLeaseSize bounds what is read from a lease key: a lease record is a few hundred bytes, and anything larger
// is not one.
const maxLeaseSize = 64 << 10

// maxConflicts bounds the immediate re-reads after lost races within one Acquire.
const maxConflicts = 8

// maxPendingWrites bounds the write ids remembered while their outcome is unknown.
const maxPendingWrites = 16

var (
	// ErrLeaseHeld means another instance holds the lease and stayed alive (renewed it, or uploaded the
	// latest) while Acquire waited. Read the holder with errors.As(err, &*HeldError).
	ErrLeaseHeld = errors.New("lease held by another instance")
	// ErrLeaseLost means a conditional write of the lease answered 412 or 404, or a read of it while uploads
	// confirmed it (Keep) found another's record or none: another instance took it over (or it was removed), so
	// this one is fenced and must stop writing.
	ErrLeaseLost = errors.New("lease lost")
)

// LeaseRecord is the lease object's body (JSON), as DESIGN.md section 7 describes it.
type LeaseRecord struct {
	WriterID string    `json:"writer_id"`
	Hostname string    `json:"hostname"`
	Epoch    uint64    `json:"epoch"`
	Acquired time.Time `json:"acquired"`
	Renewed  time.Time `json:"renewed"`
	Expires  time.Time `json:"expires"`
	Released bool      `json:"released"`
	// LatestETag, in a released record, is the latest snapshot's ETag as its releaser last wrote or saw it: a
	// taker whose first upload is not made on it knows someone uploaded after the release (a stale writer) and
	// holds (LeaseOptions.HoldAfterTakeover).
	LatestETag string `json:"latest_etag,omitempty"`
	// WriteID is unique per write. It keeps the ETag (an MD5 of the body) changing even if two writes had equal
	// contents, and lets a writer recognise its own write whose reply was lost.
	WriteID string `json:"write_id"`
}

// HeldError names the instance holding the lease. It wraps ErrLeaseHeld.
type HeldError struct {
	Record LeaseRecord
	// LatestChanged is when Acquire last saw the latest snapshot change (by LeaseOptions.Now); zero when it saw
	// none. A busy holder proves it is alive by its uploads while its record's Renewed stays old.
	LatestChanged time.Time
}

func (e *HeldError) Error() string {
	r := e.Record
	alive := "last renewed " + r.Renewed.UTC().Format(time.RFC3339)
	if !e.LatestChanged.IsZero() {
		alive = "its latest snapshot changed while watched, last at " + e.LatestChanged.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("lease held by writer %s on host %s since %s (epoch %d, %s)",
		r.WriterID, r.Hostname, r.Acquired.UTC().Format(time.RFC3339), r.Epoch, alive)
}

func (e *HeldError) Unwrap() error { return ErrLeaseHeld }

// LeaseOptions configure a Lease. Every duration is here so tests can run with short ones.
type LeaseOptions struct {
	Bucket string
	Key    string // the lease object's key: <registry key>.lease
	// WriterID and Hostname identify this instance in the record and in the errors other instances print.
	WriterID, Hostname string
	// TTL is how long a record stays valid without renewal; zero means DefaultLeaseTTL. The holder renews
	// within it (Keep: when nothing confirmed ownership for TTL/2).
	TTL time.Duration
	// Skew is the margin added to the TTL before a silent holder is taken over; zero means DefaultLeaseSkew.
	Skew time.Duration
	// Poll is how often Acquire reads a held lease; zero means TTL/3.
	Poll time.Duration
	// Latest is the latest snapshot's key (Keys.Latest), or empty. When set, a conditional upload of the latest
	// by the holder's replicator proves ownership as a renewal does while the holder's confirmation has not
	// lapsed (so a busy holder writes the lease object only at start and release, and reads it once per renewal
	// period), and Acquire judges a holder alive while either object changes: it takes over only when both the
	// lease and the latest were seen unchanged for TTL plus Skew.
	Latest string
	// HoldAfterTakeover is for a writer that ships events (run): after any take (of a silent holder, of a
	// released lease, or a creation), Confirmed stays false until this instance's first conditional upload of
	// the latest lands. If that upload was made on the ETag Acquire watched (for a released lease: the one the
	// release recorded; for a creation: none, the latest was missing), or created the latest (it was missing:
	// deleted by hand), no other writer uploaded since and publishing may begin; otherwise one did, and that upload may confirm it for up to its TTL, so Confirmed
	// waits the longer of ours and the old holder's TTL, plus Skew, after the upload. A creation next to an
	// existing latest (lease object deleted, or --lease=off before) always waits TTL plus Skew: the old
	// writer's confirmation is unknown. Admin commands, which only upload, leave it off. Needs Latest.
	HoldAfterTakeover bool
	// Now stamps records and measures how long a lease was seen unchanged; nil means time.Now (whose monotonic
	// reading makes the measure immune to wall clock jumps). Waiting itself always uses real timers.
	Now    func() time.Time
	Logger zerolog.Logger
}

// Lease keeps one writer per registry with conditional writes of a small object (DESIGN.md section 7): create
// with If-None-Match: *, renew, take over and release with If-Match on the last ETag. A silent holder is taken
// over only after its record (and, with LeaseOptions.Latest, the latest snapshot) was seen unchanged for TTL plus
// Skew by this instance's own clock, so clock skew between hosts does not matter. The lease is lost only when a
// conditional write answers 412 or 404; network errors are returned as they are and leave the state unchanged.
// Confirmed tells the holder whether it may still act as the one writer meanwhile: not once its last confirmed
// write (of the lease, or a conditional upload of the latest) is older than the TTL (keeper.go).
//
// Why an upload of the latest may stand for a renewal: it is made with If-Match on the ETag its writer last saw,
// so it lands only while nobody else wrote the latest; a taker watches the latest too, and its own first upload
// is conditional on the ETag it watched (HoldAfterTakeover), so no upload of the old holder lands after the taker
// watched it without the taker noticing and waiting out the confirmation it gave. An upload extends a
// confirmation only while it has not lapsed: a holder whose last confirmation is older than the TTL (stopped,
// cut off) is confirmed again only by a write of the lease object, which fails with 412 or 404 if another
// instance took it over, released it or deleted it meanwhile (lease_upload.go).
//
// What this guarantees, with HoldAfterTakeover and Latest set and one --lease-ttl for all instances of a
// registry (a longer TTL of an unreleased holder is honoured from its record; that of a stale writer behind a
// released or deleted record is not known): at most one instance is Confirmed at any time, by each one's
// monotonic clock up to Skew; a stale writer whose confirmation lapsed publishes nothing until a lease write
// succeeds, and so learns at its first renewal after resuming that it lost the registry (its replicator may
// still land the one upload it had in flight or queued, which a taker's hold accounts for); a busy holder learns
// of a takeover, a release by another instance or a deleted lease object within one renewal period (TTL/2),
// from the read Keep makes instead of a renewal.
//
// Methods are safe for concurrent use; they run one at a time.
type Lease struct {
	client *minio.Client
	opts   LeaseOptions
	log    zerolog.Logger

	mu      sync.Mutex
	held    bool
	lost    bool
	rec     LeaseRecord    // the last record written, valid while held
	etag    string         // its ETag
	pending []pendingWrite // writes sent since the last confirmed one, whose outcome is unknown
	// confirmed is when the last write S3 confirmed was sent, by opts.Now (monotonic with time.Now): no other
	// instance can take the lease over before one TTL after it (see Confirmed). Conditional uploads of the latest
	// count while it has not lapsed (snapshotUploaded).
	confirmed time.Time
	// After a takeover with HoldAfterTakeover: awaitUpload until the first upload of the latest, made on the
	// ETag watched (watchedLatest, "" when there was none) or not; if not (or always, holdAlways), Confirmed
	// stays false for holdFor after it was sent (holdUntil).
	awaitUpload   bool
	watchedLatest string
	holdAlways    bool
	holdFor       time.Duration
	holdUntil     time.Time
	// latest is the latest snapshot's ETag as this instance last saw or wrote it; a release records it.
	latest string

	epoch atomic.Uint64 // rec.Epoch, readable while an Acquire waits holding mu

	state atomic.Pointer[published] // for State and WaitConfirmed, readable while a write holds mu (keeper.go)
}

// pendingWrite is a write whose reply did not arrive (yet): if S3 shows its record later, it landed.
type pendingWrite struct {
	id   string
	sent time.Time
}

// NewLease returns a Lease on opts.Bucket/opts.Key; it makes no request.
func NewLease(client *minio.Client, opts LeaseOptions) *Lease {
	if opts.TTL <= 0 {
		opts.TTL = DefaultLeaseTTL
	}
	if opts.Skew <= 0 {
		opts.Skew = DefaultLeaseSkew
	}
	if opts.Poll <= 0 {
		opts.Poll = opts.TTL / 3
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Lease{client: client, opts: opts,
		log: opts.Logger.With().Str("component", "lease").Str("key", opts.Key).Logger()}
}

// Epoch is the epoch of the lease this instance holds or last held; 0 before the first Acquire.
// It does not wait for a running Acquire.
func (l *Lease) Epoch() uint64 { return l.epoch.Load() }

// Acquire takes the lease and returns its new epoch: 1 when no lease object exists, the previous epoch plus one
// on a takeover. A released lease is taken over at once, as is a missing one; with HoldAfterTakeover, Confirmed
// then waits for this instance's first upload of the latest, and holds for TTL plus Skew after it when that
// upload was not made on the ETag the release recorded (a stale writer uploaded after the release), or when the
// lease object was missing while the latest existed (deleted by hand, or written with --lease=off). An unreleased one is watched: it is taken over once seen
// unchanged for TTL plus Skew (the longer of ours and the holder's TTL); while its holder keeps renewing, Acquire
// waits until wait has passed (zero: one look) or ctx ends, then returns a *HeldError (ErrLeaseHeld). Network
// errors are retried at the poll interval within the same bounds, then returned. An object at the key that is not
// a lease record is an error; it is never overwritten. wait counts from the call: to take over a silent holder,
// pass at least TTL + Skew + Poll.
func (l *Lease) Acquire(ctx context.Context, wait time.Duration) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held {
		return 0, fmt.Errorf("acquire lease %s: already held at epoch %d", l.opts.Key, l.rec.Epoch)
	}
	start := l.opts.Now()
	deadline := start.Add(wait)
	var (
		seenETag   string
		seenLatest string // the latest snapshot's ETag ("" while missing), watched with the lease
		seenAt     time.Time
		changedAt  time.Time // when the latest was last seen changing while watched (HeldError.LatestChanged)
		holder     *LeaseRecord
		watched    *watch // what this instance saw when it tried to take over, for HoldAfterTakeover
		lastErr    error
		conflicts  int
	)
	for {
		// After a lost race, look again at once (even past the deadline, so a loser can name the winner); a
		// few times only, in case the record churns.
		again := false
		next := deadline
		cur, etag, err := l.read(ctx)
		switch {
		case errors.Is(err, errNoLease):
			latest, lerr := l.latestETag(ctx)
			if lerr != nil {
				err = lerr
				break
			}
			// A latest without a lease object: its writer may still be running (the lease deleted by hand) with
			// its confirmation unknown to us, so hold after the first upload whatever it shows.
			watched = &watch{latest: latest, hold: l.opts.TTL + l.opts.Skew, always: latest != ""}
			err = l.take(ctx, LeaseRecord{}, "", watched)
			if err == nil {
				return l.rec.Epoch, nil
			}
			again = errors.Is(err, errConflict)
		case errors.Is(err, errReadDenied):
			if terr := l.take(ctx, LeaseRecord{}, "", nil); terr == nil {
				return l.rec.Epoch, nil
			} else if errors.Is(terr, errConflict) || errors.Is(terr, errReadDenied) {
				return 0, fmt.Errorf("acquire lease %s: the lease object exists but reading it is denied: %w", l.opts.Key, err)
			}
		case err != nil:
			var foreign *foreignError
			if errors.As(err, &foreign) {
				return 0, err
			}
			l.log.Debug().Err(err).Msg("reading the lease failed; retrying")
		case cur.Released:
			watched = &watch{latest: cur.LatestETag, hold: l.silence(cur)}
			err = l.take(ctx, cur, etag, watched)
			if err == nil {
				return l.rec.Epoch, nil
			}
			again = errors.Is(err, errConflict)
		case cur.WriterID == l.opts.WriterID && l.sentAt(cur.WriteID) != nil:
			// Our own take whose reply was lost.
			l.confirmed = *l.sentAt(cur.WriteID)
			l.pending = l.pending[:0]
			l.held, l.lost, l.rec, l.etag = true, false, cur, etag
			l.epoch.Store(cur.Epoch)
			l.awaitAfterTakeover(watched)
			l.publish(false)
			l.log.Info().Uint64("epoch", cur.Epoch).Msg("lease acquired (the reply to our write was lost)")
			return cur.Epoch, nil
		default:
			holder = &cur
			now := l.opts.Now()
			latest, lerr := l.latestETag(ctx)
			if lerr != nil {
				err = lerr // the holder's liveness is unknown: look again at the next poll
				l.log.Debug().Err(err).Msg("reading the latest snapshot failed; retrying")
				break
			}
			if etag != seenETag {
				l.log.Info().Str("holder", cur.WriterID).Str("holder_host", cur.Hostname).Uint64("epoch", cur.Epoch).
					Msg("lease held, watching it")
			}
			if seenETag != "" && latest != seenLatest {
				changedAt = now
			}
			if etag != seenETag || latest != seenLatest {
				seenETag, seenLatest, seenAt = etag, latest, now
			}
			staleAt := seenAt.Add(l.silence(cur))
			if extra := l.silence(cur) - l.opts.TTL - l.opts.Skew; wait > 0 && extra > 0 && wait < math.MaxInt64-extra {
				// A holder with a longer TTL than ours needs a longer watch than the caller planned for ours.
				deadline = latestOf(deadline, start.Add(wait+extra))
			}
			if now.Before(staleAt) {
				next = earliest(deadline, staleAt, now.Add(l.opts.Poll))
				break
			}
			watched = &watch{latest: latest, hold: l.silence(cur)}
			err = l.take(ctx, cur, etag, watched)
			if err == nil {
				l.log.Warn().Str("holder", cur.WriterID).Str("holder_host", cur.Hostname).
					Dur("silent_for", now.Sub(seenAt)).Uint64("epoch", l.rec.Epoch).Msg("took over a silent lease")
				return l.rec.Epoch, nil
			}
			again = errors.Is(err, errConflict)
		}
		if err != nil && !again {
			lastErr = err
		}
		if again {
			if conflicts++; conflicts <= maxConflicts {
				continue
			}
		}
		now := l.opts.Now()
		if !now.Before(deadline) {
			return 0, l.heldOr(holder, changedAt, lastErr)
		}
		if err != nil { // a network error, or races lost too often: try again soon
			next = earliest(next, now.Add(l.opts.Poll))
		}
		t := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			if holder != nil || lastErr != nil {
				return 0, errors.Join(l.heldOr(holder, changedAt, lastErr), ctx.Err())
			}
			return 0, fmt.Errorf("acquire lease %s: %w", l.opts.Key, ctx.Err())
		case <-t.C:
		}
	}
}

// silence is how long an unreleased record must stay unchanged before it may be taken over: TTL plus Skew, with
// the holder's own TTL (a duration on its clock, so skew does not enter) when that is longer.
func (l *Lease) silence(r LeaseRecord) time.Duration {
	ttl := max(l.opts.TTL, r.Expires.Sub(r.Renewed))
	return ttl + l.opts.Skew
}

func (l *Lease) heldOr(holder *LeaseRecord, latestChanged time.Time, err error) error {
	if holder != nil {
		return &HeldError{Record: *holder, LatestChanged: latestChanged}
	}
	if err == nil {
		err = errors.New("no answer")
	}
	return fmt.Errorf("acquire lease %s: %w", l.opts.Key, err)
}

func latestOf(t, u time.Time) time.Time {
	if u.After(t) {
		return u
	}
	return t
}

func earliest(t time.Time, more ...time.Time) time.Time {
	for _, u := range more {
		if u.Before(t) {
			t = u
		}
	}
	return t
}

// watch is what Acquire saw of the latest when it took the lease, for HoldAfterTakeover: the ETag the first upload
// must be made on for Confirmed to need no hold (always: hold anyway), and how long the hold lasts.
type watch struct {
	latest string
	hold   time.Duration
	always bool
}

// take writes a record for this instance at prev.Epoch+1: a creation when etag is empty, else a takeover of the
// record with that ETag. errConflict means another instance got there first. watched is what Acquire saw of the
// latest (see HoldAfterTakeover), nil when it did not look.
//
// The write ids of earlier takes whose outcome is unknown stay pending: one of them may land late (a delayed
// request) just before this one is refused, and is then ours, not a conflict.
func (l *Lease) take(ctx context.Context, prev LeaseRecord, etag string, watched *watch) error {
	now := l.opts.Now()
	epoch := prev.Epoch + 1
	if etag == "" {
		epoch = 1
	}
	rec := LeaseRecord{WriterID: l.opts.WriterID, Hostname: l.opts.Hostname, Epoch: epoch,
		Acquired: now, Renewed: now, Expires: now.Add(l.opts.TTL)}
	newETag, err := l.write(ctx, &rec, etag)
	switch {
	case errors.Is(err, errAdopted):
		// An earlier take of ours landed and nobody wrote after it: write already made it l.rec.
		rec, newETag = l.rec, l.etag
		l.log.Info().Uint64("epoch", rec.Epoch).Msg("an earlier write of ours took the lease (its reply was lost)")
	case err != nil:
		return err
	}
	l.held, l.lost, l.rec, l.etag = true, false, rec, newETag
	l.epoch.Store(rec.Epoch)
	l.awaitAfterTakeover(watched)
	l.publish(false)
	l.log.Info().Uint64("epoch", rec.Epoch).Msg("lease acquired")
	return nil
}

// Renew extends the lease by TTL with If-Match on its last ETag. ErrLeaseLost (412 or 404) means another
// instance took over: stop writing. Any other error (network, 5xx, timeout) is returned as it is and the lease is
// still ours as far as we know; call Renew again.
func (l *Lease) Renew(ctx context.Context) error {
	return l.update(ctx, false, 0)
}

// RaiseEpoch renews the lease with its epoch raised to epoch (when higher), so the record carries the epoch this
// writer really uses: the next takeover or promote then starts above it, and no two writers share an epoch even
// when snapshots ran ahead of the lease (after --lease=off, a forced promote, a fallback). ErrLeaseLost as Renew.
func (l *Lease) RaiseEpoch(ctx context.Context, epoch uint64) error {
	return l.update(ctx, false, epoch)
}

// LatestWritten records etag as the latest snapshot's, written by this instance outside the replicator (an admin
// command's Publish or Promote): a release records it, so that the next instance's first upload, made on it, is
// known for its own and does not hold its inputs for TTL plus Skew.
func (l *Lease) LatestWritten(etag string) {
	l.mu.Lock()
	l.latest = etag
	l.mu.Unlock()
}

// Release marks the lease released (no delete: minio-go has no conditional delete, and deleting would lose the
// epoch), so the next instance takes over at once; the record keeps the latest's ETag as this instance last saw
// it (LeaseRecord.LatestETag). ErrLeaseLost as for Renew.
func (l *Lease) Release(ctx context.Context) error {
	return l.update(ctx, true, 0)
}

func (l *Lease) update(ctx context.Context, release bool, epoch uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	op := "renew"
	if release {
		op = "release"
	}
	if l.lost {
		return fmt.Errorf("%s lease %s: %w", op, l.opts.Key, ErrLeaseLost)
	}
	if !l.held {
		return fmt.Errorf("%s lease %s: not held", op, l.opts.Key)
	}
	// Two rounds: the first may find that a write whose reply was lost did land, and adopt its ETag.
	for range 2 {
		now := l.opts.Now()
		rec := l.rec
		rec.Renewed, rec.Expires, rec.Released = now, now.Add(l.opts.TTL), release
		if release {
			rec.Expires = now
		}
		rec.Epoch = max(rec.Epoch, epoch)
		if release {
			rec.LatestETag = l.latest
		}
		etag, err := l.write(ctx, &rec, l.etag)
		switch {
		case err == nil:
			l.rec, l.etag = rec, etag
			l.epoch.Store(rec.Epoch)
			if release {
				l.held = false
				l.log.Info().Uint64("epoch", rec.Epoch).Msg("lease released")
			}
			l.publish(false)
			return nil
		case errors.Is(err, errAdopted):
			l.epoch.Store(l.rec.Epoch)
			continue
		case errors.Is(err, errConflict):
			l.held, l.lost = false, true
			l.publish(false)
			l.log.Warn().Err(err).Uint64("epoch", l.rec.Epoch).Msg("lease lost")
			return fmt.Errorf("%s lease %s: %w: %w", op, l.opts.Key, ErrLeaseLost, err)
		default:
			l.publish(true)
			return fmt.Errorf("%s lease %s: %w", op, l.opts.Key, err)
		}
	}
	return fmt.Errorf("%s lease %s: the record keeps changing under its own writer", op, l.opts.Key)
}
