package snapshot

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/internal/s3client"
	"github.com/flickerlog/flicker/store"
)

// Replicator defaults (ReplicatorOptions).
const (
	DefaultMaxBackoff    = 30 * time.Second
	DefaultUploadTimeout = time.Minute
)

// maxImmediateRetries bounds the uploads retried at once within one attempt, after our own lost-reply write was
// adopted or the object was found gone.
const maxImmediateRetries = 4

// repeatWarnEvery is how often a warning repeated during one outage is logged at warn level; the others go to
// debug.
const repeatWarnEvery = 30 * time.Second

// ErrFenced means another instance (or program) wrote the latest snapshot object since this one last did: this
// instance's state is stale and it must stop (exit code 3).
var ErrFenced = errors.New("fenced: another instance wrote the registry snapshot")

// Registry is what the replicator copies: *store.DB satisfies it.
type Registry interface {
	Source
	// Meta returns the committed meta; Epoch and Seq tell whether anything changed since the last upload. The
	// replicator calls it before each possible upload, so it must be cheap.
	Meta() store.Meta
}

// ReplicatorOptions configure a Replicator. Every duration is here so tests can run with short ones.
type ReplicatorOptions struct {
	Keys            Keys          // bucket and latest key (keys.go)
	Interval        time.Duration // zero: DefaultInterval (5s)
	HistoryInterval time.Duration // zero: DefaultHistoryInterval
	HistorySlots    int           // zero: DefaultHistorySlots; negative: no history
	MaxBackoff      time.Duration // cap of the retry backoff after failed uploads; zero: DefaultMaxBackoff (30s)
	// UploadTimeout bounds each request (the upload of the latest, the check after a refused one, a history
	// write), so a hung connection is abandoned and retried; zero: DefaultUploadTimeout.
	UploadTimeout time.Duration
	TmpDir        string // local disk (the state dir) for Build
	// WriterID and Hostname go into every snapshot's header; WriterID also recognises our own earlier write.
	WriterID, Hostname string
	// Fenced uploads the latest with If-Match on the last ETag seen (If-None-Match: * when ETag is empty), so a
	// stale writer is refused. False for stores without conditional writes (--lease=off, or GCS found by the probe).
	Fenced bool
	// Lease is the lease this writer holds (fenced mode), or nil: each conditional upload of the latest that
	// lands confirms it as a renewal does, so the lease object itself is written only when no upload went up
	// for a while (Lease.Keep).
	Lease  *Lease
	ETag   string           // the latest object's ETag as restore saw it; "" when there is none
	Now    func() time.Time // stamps snapshots and stats; nil: time.Now. Waiting always uses real timers.
	Logger zerolog.Logger
}

// ReplicatorStats are the replicator's counters, for metrics and logs.
type ReplicatorStats struct {
	LastUpload          time.Time     // when the last successful upload of the latest finished; zero before the first
	LastHeader          Header        // that snapshot's header
	LastSize            int64         // its object size
	LastDuration        time.Duration // build + upload
	Uploads, Failures   uint64
	ConsecutiveFailures int
	HistoryWrites       uint64
	Fenced              bool
}

// Replicator uploads snapshots of a registry to its latest key, and copies of them into the history ring
// (DESIGN.md section 7). One upload is in flight at a time, and each attempt builds a fresh snapshot of the newest
// state: when S3 is slow or down, nothing queues up, and the first upload that works carries the newest state.
//
// Run and Final take turns (one runs at a time); Stats is safe for concurrent use.
type Replicator struct {
	client *minio.Client
	db     Registry
	opts   ReplicatorOptions
	log    zerolog.Logger
	turn   chan struct{} // held by Run or Final: one upload in flight

	// Owned by whoever holds turn.
	etag               string // the latest object's ETag after our last write (fenced mode)
	uploaded           bool   // something was uploaded since start; until then every attempt uploads
	lastEpoch, lastSeq uint64 // of the last upload
	historyDone        bool   // a history slot was written since start
	historyPeriod      int64  // created / HistoryInterval of that write
	failingSince       time.Time
	uploadWarn         repeatWarning
	historyWarn        repeatWarning

	mu        sync.Mutex
	stats     ReplicatorStats
	fencedErr error // set once, when fenced
}

// NewReplicator returns a replicator of db to opts.Keys. It makes no request; it removes the temp files a killed
// process may have left in opts.TmpDir (Build's snapshot-*.db and snapshot-*.zst).
func NewReplicator(client *minio.Client, db Registry, opts ReplicatorOptions) *Replicator {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.HistoryInterval <= 0 {
		opts.HistoryInterval = DefaultHistoryInterval
	}
	if opts.HistorySlots == 0 {
		opts.HistorySlots = DefaultHistorySlots
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.UploadTimeout <= 0 {
		opts.UploadTimeout = DefaultUploadTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Replicator{client: client, db: db, opts: opts, turn: make(chan struct{}, 1),
		etag: strings.Trim(opts.ETag, `"`),
		log:  opts.Logger.With().Str("component", "replicator").Str("key", opts.Keys.String()).Logger()}
	r.removeTempFiles()
	return r
}

// removeTempFiles removes what Build leaves behind when the process is killed mid-build. Only in an explicit
// TmpDir: the system temp dir may hold another process's build in progress.
func (r *Replicator) removeTempFiles() {
	if r.opts.TmpDir == "" {
		return
	}
	for _, pattern := range []string{"snapshot-*.db", "snapshot-*.zst"} {
		paths, _ := filepath.Glob(filepath.Join(r.opts.TmpDir, pattern)) // the pattern is valid
		for _, p := range paths {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				r.log.Warn().Err(err).Msg("remove a leftover snapshot temp file")
			}
		}
	}
}

// Stats returns a copy of the counters.
func (r *Replicator) Stats() ReplicatorStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Run uploads a snapshot every Interval when the registry's (epoch, seq) changed since the last upload, until ctx
// ends (returns nil) or an upload is fenced (returns an error wrapping ErrFenced, naming the writer found). The
// first attempt is at once and uploads whatever the state: it creates the object on a first start, and puts this
// writer's epoch on it. Failed uploads are retried with capped exponential backoff with jitter, each retry with
// the newest state.
func (r *Replicator) Run(ctx context.Context) error {
	if err := r.takeTurn(ctx); err != nil {
		return nil
	}
	defer r.endTurn()
	if err := r.fenced(); err != nil {
		return err
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		wait := r.opts.Interval
		if r.changed() {
			err := r.attempt(ctx, false)
			switch {
			case err == nil:
			case errors.Is(err, ErrFenced):
				return err
			case ctx.Err() != nil:
				return nil
			default:
				wait = r.failed(err)
			}
		}
		timer.Reset(wait)
	}
}

// Final uploads one last snapshot if (epoch, seq) changed since the last upload (the caller flushed the registry),
// retrying with backoff until ctx ends (then it returns the last error). Call after Run returned. Once fenced, it
// returns the ErrFenced error at once.
func (r *Replicator) Final(ctx context.Context) error {
	if err := r.takeTurn(ctx); err != nil {
		return fmt.Errorf("wait for the upload in flight: %w", err)
	}
	defer r.endTurn()
	if err := r.fenced(); err != nil {
		return err
	}
	if !r.changed() {
		return nil
	}
	for {
		err := r.attempt(ctx, true)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrFenced):
			return err
		case ctx.Err() != nil:
			return err
		}
		timer := time.NewTimer(r.failed(err))
		select {
		case <-ctx.Done():
			timer.Stop()
			return err
		case <-timer.C:
		}
	}
}

func (r *Replicator) takeTurn(ctx context.Context) error {
	select {
	case r.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Replicator) endTurn() { <-r.turn }

func (r *Replicator) fenced() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fencedErr
}

// changed reports whether the registry moved since the last upload; true until the first upload.
func (r *Replicator) changed() bool {
	m := r.db.Meta()
	return !r.uploaded || m.Epoch != r.lastEpoch || m.Seq != r.lastSeq
}

// attempt builds a snapshot of the newest state, uploads it to the latest key and, after that succeeded, to the
// history slot when a new history period began.
// final also refreshes the history slot of the current period, so the ring holds the state of a clean stop.
func (r *Replicator) attempt(ctx context.Context, final bool) error {
	start := time.Now()
	snap, err := Build(r.db, HeaderInfo{WriterID: r.opts.WriterID, Hostname: r.opts.Hostname, Created: r.opts.Now()},
		r.opts.TmpDir)
	if err != nil {
		return err
	}
	defer snap.Close()
	if err := r.putLatest(ctx, snap); err != nil {
		return err
	}
	took := time.Since(start)
	h := snap.Header
	r.uploaded, r.lastEpoch, r.lastSeq = true, h.Epoch, h.Seq
	now := r.opts.Now()
	r.mu.Lock()
	r.stats.LastUpload, r.stats.LastHeader, r.stats.LastSize, r.stats.LastDuration = now, h, snap.Size(), took
	r.stats.Uploads++
	failures := r.stats.ConsecutiveFailures
	r.stats.ConsecutiveFailures = 0
	r.mu.Unlock()
	if !r.failingSince.IsZero() {
		r.log.Info().Dur("outage", now.Sub(r.failingSince)).Int("failed_attempts", failures).
			Uint64("epoch", h.Epoch).Uint64("seq", h.Seq).Msg("snapshots resumed")
		r.failingSince = time.Time{}
		r.uploadWarn.reset()
	}
	r.log.Debug().Uint64("epoch", h.Epoch).Uint64("seq", h.Seq).Int64("size", snap.Size()).Dur("duration", took).
		Msg("snapshot uploaded")
	r.writeHistory(ctx, snap, final)
	return nil
}

func snapshotPutOptions(h Header) minio.PutObjectOptions {
	return minio.PutObjectOptions{DisableMultipart: true, SendContentMd5: true, UserMetadata: h.Metadata(),
		ContentType: "application/octet-stream"}
}

// put uploads the whole snapshot to key, bounded by UploadTimeout.
func (r *Replicator) put(ctx context.Context, key string, snap *Snapshot, opts minio.PutObjectOptions) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.UploadTimeout)
	defer cancel()
	info, err := r.client.PutObject(ctx, r.opts.Keys.Bucket, key, snap.NewReader(), snap.Size(), opts)
	if err != nil {
		return "", s3client.Explain(err, s3client.OpPutObject, r.opts.Keys.Bucket, key)
	}
	return info.ETag, nil
}

// putLatest uploads snap to the latest key; in fenced mode conditionally on the last ETag seen, resolving a
// refusal (see resolveRefusal).
func (r *Replicator) putLatest(ctx context.Context, snap *Snapshot) error {
	key := r.opts.Keys.Latest
	// reported is the If-Match that the lease hears this upload was made on (HoldAfterTakeover): that of the first
	// attempt, unless a refusal showed another writer's object (or none) in between.
	reported := r.etag
	for range maxImmediateRetries {
		opts := snapshotPutOptions(snap.Header)
		if r.opts.Fenced {
			if r.etag == "" {
				opts.SetMatchETagExcept("*")
			} else {
				opts.SetMatchETag(r.etag)
			}
		}
		sent := r.leaseNow()
		etag, err := r.put(ctx, key, snap, opts)
		if err == nil {
			if r.opts.Fenced && r.opts.Lease != nil {
				r.opts.Lease.snapshotUploaded(sent, reported, etag)
			}
			r.etag = etag
			return nil
		}
		if !r.opts.Fenced || !isConflict(err) {
			return err
		}
		own, err := r.resolveRefusal(ctx, snap.Header)
		if err != nil {
			return err
		}
		if !own {
			reported = r.etag
		}
	}
	return fmt.Errorf("upload %s: the object keeps changing under its own writer", r.opts.Keys)
}

// leaseNow is the lease's clock (for snapshotUploaded), or the zero time without a lease.
func (r *Replicator) leaseNow() time.Time {
	if r.opts.Lease == nil {
		return time.Time{}
	}
	return r.opts.Lease.now()
}

// resolveRefusal looks at the latest object after a conditional upload was refused (412, or 404 for If-Match).
// nil means try again at once: the object is our own earlier write whose reply was lost (its ETag is adopted; own
// is true), or it is gone (it is recreated with If-None-Match: *). An error wrapping ErrFenced means another
// writer's object is there. Any other error (the HEAD failed) is not a loss yet: the attempt failed and is retried later.
func (r *Replicator) resolveRefusal(ctx context.Context, ours Header) (own bool, err error) {
	key := r.opts.Keys.Latest
	hctx, cancel := context.WithTimeout(ctx, r.opts.UploadTimeout)
	defer cancel()
	st, err := r.client.StatObject(hctx, r.opts.Keys.Bucket, key, minio.StatObjectOptions{})
	if err != nil {
		er := s3client.ToErrorResponse(err)
		if er.Code == "NoSuchKey" || er.StatusCode == http.StatusNotFound && er.Code != "NoSuchBucket" {
			if r.etag != "" {
				r.log.Warn().Str("etag", r.etag).
					Msg("the registry snapshot object is gone (deleted by someone or something); recreating it")
			}
			r.etag = ""
			return false, nil
		}
		return false, fmt.Errorf("check the refused upload: %w",
			s3client.Explain(err, s3client.OpHeadObject, r.opts.Keys.Bucket, key))
	}
	found, herr := HeaderFromMetadata(st.UserMetadata)
	if herr == nil && found.WriterID == r.opts.WriterID && found.Epoch == ours.Epoch {
		r.log.Info().Uint64("seq", found.Seq).Msg("found our own upload whose reply was lost; continuing from it")
		r.etag = st.ETag
		return true, nil
	}
	if herr == nil && found.Epoch < ours.Epoch {
		// A writer of an older epoch, superseded by ours (a stale instance that resumed before it noticed): its
		// state is older than ours by definition, so ours replaces it.
		r.log.Warn().Str("stale_writer", found.WriterID).Str("stale_host", found.Hostname).Uint64("stale_epoch", found.Epoch).
			Uint64("epoch", ours.Epoch).Msg("a superseded writer uploaded over our snapshot; replacing it")
		r.etag = st.ETag
		return false, nil
	}
	if herr != nil {
		err = fmt.Errorf("upload %s: %w: the object there now was not written by flicker (%v); it is never "+
			"overwritten", r.opts.Keys, ErrFenced, herr)
	} else {
		err = fmt.Errorf("upload %s: %w: writer %s on host %s wrote epoch %d seq %d (ours: writer %s, epoch %d)",
			r.opts.Keys, ErrFenced, found.WriterID, found.Hostname, found.Epoch, found.Seq, r.opts.WriterID, ours.Epoch)
	}
	r.mu.Lock()
	r.stats.Fenced, r.fencedErr = true, err
	r.mu.Unlock()
	return false, err
}

// writeHistory copies snap into its history slot when a new history period began since the last history write
// (the first upload after start always writes one), and after the final upload. A failure is logged; the next
// upload tries again.
func (r *Replicator) writeHistory(ctx context.Context, snap *Snapshot, final bool) {
	if r.opts.HistorySlots < 0 {
		return
	}
	created := snap.Header.Created
	period := created.UnixNano() / int64(r.opts.HistoryInterval)
	if r.historyDone && period == r.historyPeriod && !final {
		return
	}
	key := r.opts.Keys.History(HistorySlot(created, r.opts.HistoryInterval, r.opts.HistorySlots))
	if _, err := r.put(ctx, key, snap, snapshotPutOptions(snap.Header)); err != nil {
		if ctx.Err() == nil {
			r.historyWarn.event(r.log, r.opts.Now()).Err(err).Msg("history snapshot write failed; retrying with the next upload")
		}
		return
	}
	r.historyDone, r.historyPeriod = true, period
	r.historyWarn.reset()
	r.mu.Lock()
	r.stats.HistoryWrites++
	r.mu.Unlock()
}

// failed counts a failed attempt, logs it and returns how long to wait before the next one.
func (r *Replicator) failed(err error) time.Duration {
	now := r.opts.Now()
	r.mu.Lock()
	r.stats.Failures++
	r.stats.ConsecutiveFailures++
	n, last := r.stats.ConsecutiveFailures, r.stats.LastUpload
	r.mu.Unlock()
	if r.failingSince.IsZero() {
		r.failingSince = now
	}
	wait := r.backoff(n)
	age := "never"
	if !last.IsZero() {
		age = now.Sub(last).Round(time.Millisecond).String()
	}
	r.uploadWarn.event(r.log, now).Err(err).Str("last_snapshot_age", age).Int("consecutive_failures", n).
		Dur("retry_in", wait).Msg("snapshot upload failed")
	return wait
}

// backoff is the wait after the n-th consecutive failure: min(1s, Interval) doubled n-1 times, capped at
// MaxBackoff, with jitter (a random value in [d/2, d]) so that many instances do not retry in step.
func (r *Replicator) backoff(n int) time.Duration {
	d := min(time.Second, r.opts.Interval)
	for i := 1; i < n && d < r.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, r.opts.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// repeatWarning rate-limits a warning repeated during one outage: the first at warn level, then at most one per
// repeatWarnEvery, the others at debug level.
type repeatWarning struct{ next time.Time }

func (w *repeatWarning) event(log zerolog.Logger, now time.Time) *zerolog.Event {
	if now.Before(w.next) {
		return log.Debug()
	}
	w.next = now.Add(repeatWarnEvery)
	return log.Warn()
}

// reset makes the next warning (of the next outage) log at warn level.
func (w *repeatWarning) reset() { w.next = time.Time{} }
