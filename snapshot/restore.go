package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/store"
)

// DefaultRestoreTimeout bounds how long Restore retries an unreachable store.
const DefaultRestoreTimeout = 60 * time.Second

var (
	// ErrForeign means the object at the registry key is not a flicker snapshot; it is never overwritten without
	// RestoreOptions.Force.
	ErrForeign = errors.New("the object at the registry key is not a flicker snapshot")
	// ErrNoGoodSnapshot means snapshots exist but none passes verification; starting empty needs AllowEmpty.
	ErrNoGoodSnapshot = errors.New("no usable snapshot")
)

// Where a restore took the registry from (RestoreResult.From).
const (
	FromLocal   = "local"   // the state dir's file was at least as new as the latest snapshot
	FromLatest  = "latest"  // the latest snapshot
	FromHistory = "history" // a history slot: the latest was missing or corrupt
	FromNone    = "none"    // nothing stored: a first start (or an empty start the user allowed)
)

// RestoreOptions configure Restore. Every duration is here so tests can use short ones.
type RestoreOptions struct {
	Keys         Keys
	HistorySlots int    // zero: DefaultHistorySlots
	Path         string // the live registry file in the state dir
	// AllowEmpty starts with an empty registry when snapshots exist but none is usable (--allow-empty-start).
	AllowEmpty bool
	// Force lets a foreign object at the registry key be overwritten (--force).
	Force bool
	// Timeout bounds retries while the store does not answer (--restore-timeout); zero: DefaultRestoreTimeout.
	Timeout time.Duration
	// WriterID and Hostname stamp the first snapshot when a 403 must be resolved by creating it.
	WriterID, Hostname string
	Progress           Progress
	Logger             zerolog.Logger
}

// RestoreResult says what Restore installed at Path.
type RestoreResult struct {
	From   string
	Header Header // of the snapshot installed (From latest or history); the local file's meta for FromLocal
	Key    string // the object restored
	// ETag is the latest object's ETag, for the replicator's first If-Match; empty when there is no object yet.
	ETag string
	// Fallback is set when the latest was missing or corrupt and an older state was used: events done since
	// that state will be re-sent.
	Fallback bool
}

// Restore installs at Path the newest good registry state (DESIGN.md section 7): the local file when it passes
// bbolt's Check and is not older than the latest snapshot; else the latest snapshot; else, loudly, the newest
// good history slot. A local file another user owns, a symlink or a corrupt one is discarded first, with a
// warning naming the path and the reason. Nothing stored at all is a first start (Path removed, FromNone): a
// missing latest always makes Restore look at the history ring (one HEAD per slot), since neither a missing lease
// object nor a missing latest proves that the registry was never written (--lease=off, a lost latest). A 403
// on the latest key is resolved as DESIGN.md says: with no history either, Restore creates the first snapshot
// with If-None-Match: * (success: a true first start; 412: access is really denied). A foreign object at the key
// is ErrForeign unless Force; snapshots that all fail verification are ErrNoGoodSnapshot unless AllowEmpty; a
// snapshot larger than the state dir can take is ErrTooLarge, with no fallback. Errors from an
// unreachable store are retried for Timeout.
func Restore(ctx context.Context, client *minio.Client, opts RestoreOptions) (RestoreResult, error) {
	if opts.HistorySlots == 0 {
		opts.HistorySlots = DefaultHistorySlots
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultRestoreTimeout
	}
	r := restorer{client: client, opts: opts, log: opts.Logger.With().Str("component", "restore").Logger()}
	var res RestoreResult
	err := RetryWhileUnreachable(ctx, opts.Timeout, r.log, "the restore", func(ctx context.Context) error {
		var err error
		res, err = r.run(ctx)
		return err
	})
	if err != nil {
		return RestoreResult{}, fmt.Errorf("restore %s: %w", opts.Keys, err)
	}
	return res, nil
}

type restorer struct {
	client *minio.Client
	opts   RestoreOptions
	log    zerolog.Logger
}

// history HEADs the history slots (listHistory).
func (r *restorer) history(ctx context.Context) ([]Entry, error) {
	return listHistory(ctx, r.client, r.opts.Keys, r.opts.HistorySlots)
}

func (r *restorer) run(ctx context.Context) (RestoreResult, error) {
	keys := r.opts.Keys
	latest, latestErr := Stat(ctx, r.client, keys.Bucket, keys.Latest, "")
	local, localErr := localState(r.opts.Path, r.log)
	if localErr != nil && !errors.Is(localErr, fs.ErrNotExist) && !errors.Is(localErr, errDiscarded) {
		return RestoreResult{}, localErr // locked by another flicker, or the discard failed
	}
	switch {
	case latestErr == nil && errors.Is(latest.Err, ErrNotSnapshot):
		// With good history slots next to it, the key is a flicker registry whose latest was overwritten:
		// damage, not another program's object.
		history, err := listHistory(ctx, r.client, keys, r.opts.HistorySlots)
		if err != nil {
			return RestoreResult{}, err
		}
		if slices.ContainsFunc(history, func(e Entry) bool { return e.Err == nil }) {
			return r.fallback(ctx, latest.ETag, local, localErr, "it is not a flicker snapshot (overwritten)")
		}
		if !r.opts.Force {
			return RestoreResult{}, fmt.Errorf("%w: %s is another program's object (%d bytes, modified %s); it is never "+
				"overwritten: move it, choose another --registry-file, or pass --force to replace it",
				ErrForeign, keys, latest.Size, latest.Modified.UTC().Format(time.RFC3339))
		}
		r.log.Warn().Str("key", keys.Latest).Msg("--force: the foreign object at the registry key will be overwritten")
		return r.fallback(ctx, latest.ETag, local, localErr, "")
	case latestErr == nil && errors.Is(latest.Err, ErrNewerFormat):
		return RestoreResult{}, fmt.Errorf("latest snapshot: %w", latest.Err)
	case latestErr == nil && latest.Err != nil:
		return r.fallback(ctx, latest.ETag, local, localErr, latest.Err.Error())
	case latestErr == nil:
		return r.fromLatest(ctx, latest, local, localErr)
	case errors.Is(latestErr, ErrMissing):
		return r.fallback(ctx, "", local, localErr, "")
	case errors.Is(latestErr, ErrDenied):
		return r.denied(ctx, latestErr, local, localErr)
	}
	return RestoreResult{}, latestErr
}

// fromLatest keeps the local file when it is as new as the latest snapshot, else downloads the latest.
func (r *restorer) fromLatest(ctx context.Context, latest Entry, local store.Meta, localErr error) (RestoreResult, error) {
	h := latest.Header
	if localErr == nil && local.InstanceID == h.InstanceID && !olderThan(local.Epoch, local.Seq, h.Epoch, h.Seq) {
		r.log.Info().Uint64("epoch", local.Epoch).Uint64("seq", local.Seq).Uint64("snapshot_seq", h.Seq).
			Msg("kept the local registry: it is not older than the latest snapshot")
		return RestoreResult{From: FromLocal, Header: metaHeader(local), Key: latest.Key, ETag: latest.ETag}, nil
	}
	got, etag, err := Fetch(ctx, r.client, r.opts.Keys.Bucket, latest.Key, "", r.opts.Path, r.opts.Progress)
	if err == nil {
		r.logRestored(FromLatest, latest.Key, got)
		return RestoreResult{From: FromLatest, Header: got, Key: latest.Key, ETag: etag}, nil
	}
	if Retryable(err) || errors.Is(err, ErrTooLarge) {
		return RestoreResult{}, err // too large: this disk's problem, not the snapshot's; an older one is no answer
	}
	if errors.Is(err, ErrNewerFormat) {
		return RestoreResult{}, fmt.Errorf("latest snapshot: %w", err) // an older one would replace it
	}
	return r.fallback(ctx, latest.ETag, local, localErr, err.Error())
}

// fallback finds the newest good state when the latest is missing (why empty) or unusable (why says how).
// latestETag is the object to overwrite, if any.
func (r *restorer) fallback(ctx context.Context, latestETag string, local store.Meta, localErr error, why string) (RestoreResult, error) {
	history, err := r.history(ctx)
	if err != nil {
		return RestoreResult{}, err
	}
	for _, e := range history {
		if errors.Is(e.Err, ErrNewerFormat) {
			return RestoreResult{}, fmt.Errorf("history slot %s: %w", e.Key, e.Err) // an older one would replace it
		}
		if e.Err != nil {
			r.log.Error().Err(e.Err).Str("key", e.Key).Msg("history slot unusable; trying an older one")
			continue
		}
		if localErr == nil && local.InstanceID == e.Header.InstanceID &&
			!olderThan(local.Epoch, local.Seq, e.Header.Epoch, e.Header.Seq) {
			break // the local file is newer than any history slot
		}
		got, _, err := Fetch(ctx, r.client, r.opts.Keys.Bucket, e.Key, "", r.opts.Path, r.opts.Progress)
		if Retryable(err) || errors.Is(err, ErrTooLarge) {
			return RestoreResult{}, err
		}
		if errors.Is(err, ErrNewerFormat) {
			return RestoreResult{}, fmt.Errorf("history slot %s: %w", e.Key, err)
		}
		if err != nil {
			r.log.Error().Err(err).Str("key", e.Key).Msg("history slot failed verification; trying an older one")
			continue
		}
		reason := why
		if reason == "" {
			reason = "it is missing"
		}
		r.log.Error().Str("key", e.Key).Uint64("epoch", got.Epoch).Uint64("seq", got.Seq).
			Time("created", got.Created).Dur("age", time.Since(got.Created).Round(time.Second)).Str("latest_problem", reason).
			Msg("FALLBACK: the latest snapshot is unusable, restored the newest good history slot instead; events " +
				"done since it was written will be shipped again (up to one history interval)")
		return RestoreResult{From: FromHistory, Header: got, Key: e.Key, ETag: latestETag, Fallback: true}, nil
	}
	if localErr == nil {
		r.log.Warn().Uint64("epoch", local.Epoch).Uint64("seq", local.Seq).Str("latest_problem", why).
			Msg("kept the local registry: no snapshot in S3 is newer")
		return RestoreResult{From: FromLocal, Header: metaHeader(local), ETag: latestETag, Fallback: why != ""}, nil
	}
	if why == "" && len(history) == 0 {
		if err := removeLocal(r.opts.Path); err != nil {
			return RestoreResult{}, err
		}
		r.log.Info().Msg("no snapshot stored yet: first start with an empty registry")
		return RestoreResult{From: FromNone, ETag: latestETag}, nil
	}
	problem := why
	if problem == "" {
		problem = "it is missing"
	}
	if !r.opts.AllowEmpty {
		return RestoreResult{}, fmt.Errorf("%w: the latest snapshot is unusable (%s) and no history slot passes "+
			"verification; `flicker restore --list --verify` shows what is stored; --allow-empty-start starts with "+
			"an empty registry (inputs begin at start_position)", ErrNoGoodSnapshot, problem)
	}
	if err := removeLocal(r.opts.Path); err != nil {
		return RestoreResult{}, err
	}
	r.log.Error().Str("latest_problem", problem).
		Msg("--allow-empty-start: no usable snapshot, starting with an empty registry (inputs begin at start_position)")
	return RestoreResult{From: FromNone, ETag: latestETag, Fallback: true}, nil
}

// denied resolves a 403 on the latest key: with no history either, it may be AWS hiding a missing key from a
// caller without ListBucket. Creating the first snapshot with If-None-Match: * tells the two apart.
func (r *restorer) denied(ctx context.Context, deniedErr error, local store.Meta, localErr error) (RestoreResult, error) {
	history, err := r.history(ctx)
	if err != nil {
		return RestoreResult{}, err
	}
	if len(history) > 0 || localErr == nil {
		return r.fallback(ctx, "", local, localErr, "reading it is denied: "+deniedErr.Error())
	}
	etag, err := r.createFirst(ctx)
	switch {
	case err == nil:
		r.log.Info().Msg("no snapshot stored yet (the store answered 403 for the missing key): first start")
		return RestoreResult{From: FromNone, ETag: etag}, nil
	case errors.Is(err, ErrConflict):
		return RestoreResult{}, fmt.Errorf("the latest snapshot exists but reading it is denied: %w", deniedErr)
	}
	return RestoreResult{}, err
}

// createFirst uploads a snapshot of an empty registry with If-None-Match: * and returns its ETag; the registry
// file it builds from is left at Path.
func (r *restorer) createFirst(ctx context.Context) (string, error) {
	if err := removeLocal(r.opts.Path); err != nil {
		return "", err
	}
	db, err := store.Open(r.opts.Path, store.Options{NoSync: true}, zerolog.Nop())
	if err != nil {
		return "", fmt.Errorf("create an empty registry: %w", err)
	}
	if err := db.Close(); err != nil {
		return "", fmt.Errorf("create an empty registry: %w", err)
	}
	_, etag, err := Publish(ctx, r.client, r.opts.Path, PublishOptions{Keys: r.opts.Keys,
		Info: HeaderInfo{WriterID: r.opts.WriterID, Hostname: r.opts.Hostname}})
	return etag, err
}

func (r *restorer) logRestored(from, key string, h Header) {
	r.log.Info().Str("from", from).Str("key", key).Uint64("epoch", h.Epoch).Uint64("seq", h.Seq).
		Time("created", h.Created).Dur("age", time.Since(h.Created).Round(time.Millisecond)).
		Str("writer", h.WriterID).Str("writer_host", h.Hostname).Int64("bytes", h.RawSize).
		Msg("registry restored")
}

func removeLocal(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale local registry: %w", err)
	}
	return nil
}

// olderThan reports whether (e1, s1) is older than (e2, s2).
func olderThan(e1, s1, e2, s2 uint64) bool {
	return e1 < e2 || e1 == e2 && s1 < s2
}

func metaHeader(m store.Meta) Header {
	return Header{Epoch: m.Epoch, Seq: m.Seq, InstanceID: m.InstanceID, StoreFormat: m.FormatVersion, Created: m.Updated}
}
