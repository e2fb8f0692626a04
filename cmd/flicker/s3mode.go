package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/s3client"
	"github.com/flickerlog/flicker/internal/telemetry"
	"github.com/flickerlog/flicker/snapshot"
	"github.com/flickerlog/flicker/store"
)

// statelessFlags configure S3 mode (--registry-file s3://...): DESIGN.md section 7.
type statelessFlags struct {
	s3Flags
	SnapshotInterval time.Duration `name:"snapshot-interval" default:"5s" group:"S3" help:"How often the registry is uploaded when it changed; after a crash, at most this much is shipped again."`
	HistoryInterval  time.Duration `name:"history-interval" default:"5m" group:"S3" help:"How often a history slot (registry.json.history/NNN) is written, after a good upload of the latest."`
	HistorySlots     int           `name:"history-slots" default:"288" group:"S3" help:"Number of history slots in the ring (288 x 5m = one day)."`
	Lease            string        `name:"lease" default:"auto" enum:"auto,required,off" group:"S3" help:"One writer per registry: auto (fenced when the store honours conditional writes, else a loud warning), required (refuse to run unfenced) or off."`
	LeaseTTL         time.Duration `name:"lease-ttl" default:"15s" group:"S3" help:"Lease lifetime without renewal; a silent holder (neither the lease nor the latest snapshot changing) is taken over after this plus a skew margin. Each snapshot upload renews it; with none for half of it, the lease object is renewed (an idle instance's only requests: a longer TTL costs less, a standby or a restarted pod waits longer). A holder whose last confirmed renewal is older than this (by its monotonic clock: cut off from S3, or stopped) pauses its inputs until it renews, or exits 3 when it finds it was taken over."`
	Standby          bool          `name:"standby" group:"S3" help:"When another instance holds the lease, wait (as a passive standby) and take over when it stops renewing."`
	RestoreTimeout   time.Duration `name:"restore-timeout" default:"60s" group:"S3" help:"How long to retry at startup while S3 does not answer, then exit 1."`
	AllowEmptyStart  bool          `name:"allow-empty-start" group:"S3" help:"Start with an empty registry when snapshots exist but none passes verification (inputs begin at start_position)."`
	Force            bool          `name:"force" group:"S3" help:"Overwrite an object at the registry key that is not a flicker snapshot."`

	// requests is where openS3 puts its client's request counter for /metrics (Run sets it); nil: nowhere.
	requests *atomic.Pointer[s3client.Requests]
}

func (f *statelessFlags) validate() error {
	switch {
	case f.SnapshotInterval <= 0:
		return usageError("--snapshot-interval must be positive, got %s", f.SnapshotInterval)
	case f.HistoryInterval <= 0:
		return usageError("--history-interval must be positive, got %s", f.HistoryInterval)
	case f.HistorySlots < 1 || f.HistorySlots > 100000:
		return usageError("--history-slots must be 1 to 100000, got %d", f.HistorySlots)
	case f.LeaseTTL < time.Second:
		return usageError("--lease-ttl must be at least 1s, got %s", f.LeaseTTL)
	case f.RestoreTimeout <= 0:
		return usageError("--restore-timeout must be positive, got %s", f.RestoreTimeout)
	case f.Standby && f.Lease == "off":
		return usageError("--standby needs the lease: it cannot be combined with --lease=off")
	}
	return nil
}

// s3Session is a registry replicated to S3 while the pipeline runs: the lease, the restored live file, the
// replicator. Its goroutines stop on ctx or when this instance is fenced.
type s3Session struct {
	keys    snapshot.Keys
	client  *minio.Client
	lease   *snapshot.Lease // nil when unfenced
	gate    *leaseGate      // pauses the sources while the lease is unconfirmed; nil when unfenced
	db      *store.DB
	repl    *snapshot.Replicator
	log     zerolog.Logger
	started time.Time

	// The lease keeper (from Acquire on) and the replicator (from start on) run under bgCtx; stopBg ends both,
	// at once when this instance is fenced.
	bgCtx  context.Context
	stopBg context.CancelFunc
	bg     sync.WaitGroup

	fencedMu sync.Mutex
	fenced   error
	onFenced func(error)
}

// openS3 runs the startup order of DESIGN.md section 7: conditional-write probe, lease, restore; then opens the
// restored registry at the new epoch. onFenced is called (once) if this instance loses the lease or an upload is
// refused while running.
func (c *RunCmd) openS3(ctx context.Context, location string, log zerolog.Logger) (_ *s3Session, err error) {
	f := &c.statelessFlags
	if err := f.validate(); err != nil {
		return nil, err
	}
	client, keys, requests, err := f.countedClient(location)
	if err != nil {
		return nil, err
	}
	if f.requests != nil {
		f.requests.Store(requests)
	}
	// Before S3: a state dir another user planted ends the start before this instance takes the lease.
	path := stateFile(c.StateDir, keys)
	if err := snapshot.PrepareStateDir(filepath.Dir(path), c.StateDir == ""); err != nil {
		if errors.Is(err, snapshot.ErrUnsafeStateDir) {
			return nil, usageError("default state dir: %v; another local user may have created it to plant a "+
				"registry: remove it, or pass --state-dir with a directory this user alone can write", err)
		}
		return nil, fmt.Errorf("--state-dir: %w", err)
	}
	writerID, host := writerIdentity()
	log = log.With().Str("registry", keys.String()).Logger()
	s := &s3Session{keys: keys, client: client, log: log, started: time.Now()}
	s.bgCtx, s.stopBg = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			s.abort()
		}
	}()

	fenced, err := c.probe(ctx, client, keys, log)
	if err != nil {
		return nil, err
	}
	var epoch uint64
	if fenced {
		s.lease = snapshot.NewLease(client, snapshot.LeaseOptions{Bucket: keys.Bucket, Key: keys.Lease(),
			WriterID: writerID, Hostname: host, TTL: f.LeaseTTL, Latest: keys.Latest, HoldAfterTakeover: true,
			Logger: log})
		wait := takeoverWait(f.LeaseTTL)
		if f.Standby {
			wait = 1<<63 - 1
			log.Info().Msg("standby: waiting for the lease")
		}
		epoch, err = s.lease.Acquire(ctx, wait)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			var held *snapshot.HeldError
			if errors.As(err, &held) {
				return nil, &exitError{code: exitFenced, err: fmt.Errorf("registry %s: %w; it stayed alive for %s "+
					"(stop it, or run this one with --standby to take over when it stops)", keys, err, wait.Round(time.Second))}
			}
			return nil, fmt.Errorf("registry %s: %w", keys, err)
		}
		// Renew from now on: a restore that retries for a while must not let a standby take over meanwhile.
		s.goBg(func(ctx context.Context) error { return s.lease.Keep(ctx, 0) })
		s.gate = &leaseGate{lease: s.lease, ttl: f.LeaseTTL, log: log.With().Str("component", "lease").Logger()}
	}

	res, err := snapshot.Restore(ctx, client, snapshot.RestoreOptions{Keys: keys, HistorySlots: f.HistorySlots,
		Path: path, AllowEmpty: f.AllowEmptyStart, Force: f.Force, Timeout: f.RestoreTimeout,
		WriterID: writerID, Hostname: host, Logger: log})
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return nil, &exitError{code: exitFenced, err: fmt.Errorf("--state-dir: %w", err)}
		}
		return nil, err
	}
	db, err := store.Open(path, store.Options{NoSync: true, CommitInterval: c.CommitInterval}, log)
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return nil, &exitError{code: exitFenced, err: fmt.Errorf("--state-dir: %w", err)}
		}
		return nil, fmt.Errorf("open restored registry: %w", err)
	}
	// Every takeover, fallback and unfenced start moves to a new epoch, above anything stored.
	epoch = max(epoch, res.Header.Epoch+1, db.Meta().Epoch+1)
	s.db = db
	if err := db.SetEpoch(epoch); err != nil {
		return nil, fmt.Errorf("set registry epoch: %w", err)
	}
	if s.lease != nil && epoch > s.lease.Epoch() {
		// The lease record carries the epoch in use, so the next takeover or promote starts above it.
		err := snapshot.RetryWhileUnreachable(ctx, f.RestoreTimeout, log, "recording the epoch in the lease", func(ctx context.Context) error {
			return s.lease.RaiseEpoch(ctx, epoch)
		})
		if err != nil {
			return nil, c.fencedOr(err)
		}
	}
	if ferr := s.fencedErr(); ferr != nil {
		return nil, &exitError{code: exitFenced, err: fmt.Errorf("registry %s: %w", keys, ferr)}
	}
	s.repl = snapshot.NewReplicator(client, db, snapshot.ReplicatorOptions{Keys: keys, Interval: f.SnapshotInterval,
		HistoryInterval: f.HistoryInterval, HistorySlots: f.HistorySlots, TmpDir: filepath.Dir(path),
		WriterID: writerID, Hostname: host, Fenced: fenced, Lease: s.lease, ETag: res.ETag, Logger: log})
	files, err := db.AllFiles()
	if err != nil {
		return nil, fmt.Errorf("read restored registry: %w", err)
	}
	ready := log.Info().Str("from", res.From).Uint64("epoch", epoch).Uint64("seq", db.Meta().Seq).
		Int("streams", len(files)).Bool("fenced", fenced).Str("writer", writerID).Str("state_file", path)
	if res.From == snapshot.FromLatest || res.From == snapshot.FromHistory {
		ready = ready.Dur("snapshot_age", time.Since(res.Header.Created).Round(time.Millisecond)).
			Str("snapshot_writer", res.Header.WriterID).Str("snapshot_host", res.Header.Hostname)
	}
	ready.Msg("S3 registry ready")
	return s, nil
}

// probe decides whether this run is fenced: --lease=off never is; otherwise conditional writes are probed and a
// store that ignores them runs unfenced with a warning (auto) or is refused (required).
func (c *RunCmd) probe(ctx context.Context, client *minio.Client, keys snapshot.Keys, log zerolog.Logger) (bool, error) {
	f := &c.statelessFlags
	if f.Lease == "off" {
		log.Warn().Msg("--lease=off: no lease and no fencing; never run two instances on this registry")
		return false, nil
	}
	var works bool
	err := snapshot.RetryWhileUnreachable(ctx, f.RestoreTimeout, log, "the conditional-write probe", func(ctx context.Context) error {
		var err error
		works, err = snapshot.ProbeConditionalWrites(ctx, client, keys)
		return err
	})
	switch {
	case err != nil:
		return false, err
	case works:
		return true, nil
	case f.Lease == "required":
		return false, usageError("registry %s: the store ignores conditional writes (If-Match or If-None-Match: *), so it cannot be fenced, "+
			"and --lease=required refuses to run unfenced; use --lease=auto to run one instance unfenced", keys)
	case f.Standby:
		return false, usageError("registry %s: the store ignores conditional writes (If-Match or If-None-Match: *), so --standby cannot work", keys)
	}
	log.Warn().Msg("UNFENCED: this store ignores conditional writes (If-Match or If-None-Match: *; e.g. GCS's S3 endpoint); running " +
		"without a lease: never run two instances on this registry")
	return false, nil
}

// start runs the replicator until close; onFenced cancels shipping when this instance is found fenced (at once
// if that happened already).
func (s *s3Session) start(onFenced func(error)) {
	s.fencedMu.Lock()
	s.onFenced = onFenced
	already := s.fenced
	s.fencedMu.Unlock()
	if already != nil {
		onFenced(already)
		return
	}
	s.goBg(s.repl.Run)
}

// gateSources puts the sources behind the lease gate (leasegate.go), when this instance is fenced.
func (s *s3Session) gateSources(sources []engine.Source) []engine.Source {
	if s.gate == nil {
		return sources
	}
	return s.gate.wrap(sources)
}

// goBg runs fn under bgCtx; an error from it (the lease lost, an upload refused) fences this instance.
func (s *s3Session) goBg(fn func(context.Context) error) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		if err := fn(s.bgCtx); err != nil && s.bgCtx.Err() == nil {
			s.fence(err)
		}
	}()
}

// fence records the first reason this instance lost the registry, stops the replicator and the keeper at once
// (nothing more is uploaded) and stops shipping.
func (s *s3Session) fence(err error) {
	s.fencedMu.Lock()
	first := s.fenced == nil
	if first {
		s.fenced = err
	}
	onFenced := s.onFenced
	s.fencedMu.Unlock()
	if !first {
		return
	}
	s.stopBg()
	s.log.Error().Err(err).Msg("FENCED: another instance owns this registry now; stopping without uploading")
	if onFenced != nil {
		onFenced(err)
	}
}

// abort undoes a failed openS3: stop the keeper, release the lease, close the registry.
func (s *s3Session) abort() {
	s.stopBg()
	s.bg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.releaseLease(ctx) // the start failed already
	if s.db != nil {
		_ = s.db.Close()
	}
}

// fencedOr maps a lost lease to exit 3.
func (c *RunCmd) fencedOr(err error) error {
	if errors.Is(err, snapshot.ErrLeaseLost) || errors.Is(err, snapshot.ErrFenced) {
		return &exitError{code: exitFenced, err: err}
	}
	return err
}

// fencedErr is why this instance was fenced, or nil.
func (s *s3Session) fencedErr() error {
	s.fencedMu.Lock()
	defer s.fencedMu.Unlock()
	return s.fenced
}

// close ends the session within ctx: commit, final snapshot, release the lease, close the registry. A fenced
// session uploads nothing; it releases the lease only if it still holds it (fenced by an upload, not the lease).
func (s *s3Session) close(ctx context.Context) error {
	var errs []error
	flushErr := s.db.Flush(ctx)
	s.stopBg()
	s.bg.Wait()
	if fencedErr := s.fencedErr(); fencedErr != nil {
		_ = s.releaseLease(ctx) // fenced already
		return errors.Join(&exitError{code: exitFenced, err: fmt.Errorf("registry %s: %w", s.keys, fencedErr)}, s.db.Close())
	}
	// Keep part of the time for releasing the lease, so the next instance need not wait a TTL.
	finalCtx, cancel := ctx, context.CancelFunc(func() {})
	if dl, ok := ctx.Deadline(); ok {
		finalCtx, cancel = context.WithDeadline(ctx, dl.Add(-releaseReserve(dl)))
	}
	defer cancel()
	if flushErr != nil {
		errs = append(errs, fmt.Errorf("commit positions: %w", flushErr))
	} else if err := s.repl.Final(finalCtx); err != nil {
		if errors.Is(err, snapshot.ErrFenced) {
			_ = s.releaseLease(ctx) // fenced already
			return errors.Join(&exitError{code: exitFenced, err: fmt.Errorf("registry %s: %w", s.keys, err)}, s.db.Close())
		}
		errs = append(errs, fmt.Errorf("final snapshot: %w", err))
	} else {
		st := s.repl.Stats()
		s.log.Info().Uint64("epoch", st.LastHeader.Epoch).Uint64("seq", st.LastHeader.Seq).Msg("final snapshot uploaded")
	}
	if err := s.releaseLease(ctx); err != nil {
		errs = append(errs, &exitError{code: exitFenced, err: fmt.Errorf("registry %s: %w", s.keys, err)})
	}
	if err := s.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close registry: %w", err))
	}
	return errors.Join(errs...)
}

// releaseLease lets the next instance start at once, when this one still holds the lease; a failure only means
// the next one waits a TTL. It returns an error wrapping ErrLeaseLost when the release finds the lease taken over
// (a stale holder that nothing told sooner): this instance was fenced.
func (s *s3Session) releaseLease(ctx context.Context) error {
	if s.lease == nil || !s.lease.State().Held {
		return nil
	}
	err := s.lease.Release(ctx)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, snapshot.ErrLeaseLost):
		s.log.Error().Err(err).Msg("FENCED: another instance took the lease over before this one released it")
		return err
	}
	s.log.Warn().Err(err).Msg("could not release the lease; the next instance takes over after the TTL")
	return nil
}

// stats is the replication state for /metrics.
func (s *s3Session) stats() telemetry.SnapshotStats {
	st := s.repl.Stats()
	out := telemetry.SnapshotStats{LastUpload: st.LastUpload, Seq: st.LastHeader.Seq, Size: st.LastSize,
		Duration: st.LastDuration, Uploads: st.Uploads, Failures: st.Failures,
		ConsecutiveFailures: st.ConsecutiveFailures, Fenced: st.Fenced || s.fencedErr() != nil}
	if out.LastUpload.IsZero() {
		out.LastUpload = s.started
	}
	if s.lease != nil {
		ls := s.lease.State()
		out.LeaseHeld, out.LeaseUnconfirmed = ls.Held, ls.Unconfirmed
	}
	return out
}

// takeoverWait is how long to watch a held lease: long enough to take over one whose holder died (TTL plus the
// skew margin plus a poll), short enough to give up on one that is renewed.
func takeoverWait(ttl time.Duration) time.Duration {
	return ttl + snapshot.DefaultLeaseSkew + ttl/3 + time.Second
}
