package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/snapshot"
	"github.com/flickerlog/flicker/store"
)

// s3CommandTimeout bounds a registry command's S3 work.
const s3CommandTimeout = 5 * time.Minute

// displayName is how a registry command names the registry: its s3:// URL or its local path.
func (l registryLocation) displayName(db *store.DB) string {
	if isS3(l.RegistryFile) {
		return l.RegistryFile
	}
	return absPath(db.Path())
}

// openS3Snapshot downloads and verifies the latest snapshot into a temp dir and opens it read-only.
func (l registryLocation) openS3Snapshot() (*store.DB, func(), error) {
	client, keys, err := l.client(l.RegistryFile)
	if err != nil {
		return nil, func() {}, err
	}
	tmp, err := os.MkdirTemp("", "flicker-registry-*")
	if err != nil {
		return nil, func() {}, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	ctx, cancel := context.WithTimeout(context.Background(), s3CommandTimeout)
	defer cancel()
	path := filepath.Join(tmp, "registry.db")
	if _, _, err := snapshot.Fetch(ctx, client, keys.Bucket, keys.Latest, "", path, nil); err != nil {
		cleanup()
		if errors.Is(err, snapshot.ErrMissing) {
			return nil, func() {}, fmt.Errorf("registry %s: no snapshot stored yet ('flicker restore --list' shows the history slots)", keys)
		}
		return nil, func() {}, err
	}
	db, err := store.Open(path, store.Options{ReadOnly: true}, zerolog.Nop())
	if err != nil {
		cleanup()
		return nil, func() {}, err
	}
	return db, cleanup, nil
}

// importS3 replaces an S3 registry's content with the export JSON read from r.
func (c *RegistryImportCmd) importS3(e *env, r io.Reader) error {
	return c.modifyS3(e, c.LeaseTTL, "import into", "imported into", true, func(db *store.DB) error {
		if err := db.Import(r); err != nil {
			return &exitError{code: exitUsage, err: err}
		}
		return nil
	})
}

// modifyS3 changes an S3 registry with change: it takes the lease (refusing while another instance holds it),
// restores the latest state, applies change to it and uploads it at a new epoch with If-Match, then releases the
// lease. verb names the command in errors ("import into"), done in the closing line ("imported into"). A change
// that replaces every record (wholesale: import) starts from an empty registry when no stored snapshot is usable:
// it is how a registry whose snapshots are all damaged is rebuilt from an export.
func (l registryLocation) modifyS3(e *env, leaseTTL time.Duration, verb, done string, wholesale bool,
	change func(*store.DB) error) error {
	client, keys, err := l.client(l.RegistryFile)
	if err != nil {
		return err
	}
	log := newLogger(e.stderr, e.cli.LogLevel, e.cli.LogFormat).With().Str("registry", keys.String()).Logger()
	ctx, cancel := context.WithTimeout(context.Background(), s3CommandTimeout)
	defer cancel()
	writerID, host := writerIdentity()
	writerID = "registry-" + writerID
	lease := snapshot.NewLease(client, snapshot.LeaseOptions{Bucket: keys.Bucket, Key: keys.Lease(),
		WriterID: writerID, Hostname: host, TTL: leaseTTL, Latest: keys.Latest, Logger: log})
	held, err := holdLease(ctx, lease, leaseTTL, log)
	if errors.Is(err, snapshot.ErrLeaseHeld) {
		return wrapExit(err, "%s %s: %w; stop it first", verb, keys)
	}
	if err != nil {
		return err
	}
	defer held.release()
	tmp, err := os.MkdirTemp("", "flicker-registry-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	path := filepath.Join(tmp, "registry.db")
	res, err := snapshot.Restore(ctx, client, snapshot.RestoreOptions{Keys: keys, Path: path, WriterID: writerID,
		Hostname: host, Logger: log, AllowEmpty: wholesale})
	switch {
	case errors.Is(err, snapshot.ErrNoGoodSnapshot): // its advice names run's --allow-empty-start
		return fmt.Errorf("%s %s: %w: every stored snapshot fails verification; 'flicker restore --list --verify' "+
			"shows them, 'flicker restore --promote' installs an older one, 'flicker registry import' replaces the "+
			"registry whole", verb, keys, snapshot.ErrNoGoodSnapshot)
	case errors.Is(err, snapshot.ErrForeign): // its advice names run's --force
		return fmt.Errorf("%s %s: %w; it is never overwritten: move it or choose another --registry-file", verb, keys,
			snapshot.ErrForeign)
	case err != nil:
		return err
	}
	db, err := store.Open(path, store.Options{NoSync: true}, zerolog.Nop())
	if err != nil {
		return err
	}
	if err := change(db); err != nil {
		db.Close()
		var ee *exitError
		if errors.As(err, &ee) {
			return &exitError{code: ee.code, err: fmt.Errorf("%s %s: %w", verb, keys, ee.err)}
		}
		return fmt.Errorf("%s %s: %w", verb, keys, err)
	}
	changed := db.Meta() // an import may have raised the epoch to the export's
	if err := db.Close(); err != nil {
		return err
	}
	var h snapshot.Header
	err = held.publish(ctx, func(ctx context.Context) error {
		var etag string
		h, etag, err = snapshot.Publish(ctx, client, path, snapshot.PublishOptions{Keys: keys, ETag: res.ETag,
			Epoch: max(held.epoch, res.Header.Epoch+1, changed.Epoch), Info: snapshot.HeaderInfo{WriterID: writerID,
				Hostname: host}})
		if err == nil {
			held.lease.LatestWritten(etag)
		}
		return err
	})
	if err != nil {
		return wrapExit(err, "%s %s: %w", verb, keys)
	}
	fmt.Fprintf(e.stderr, "%s %s (epoch %d, seq %d)\n", done, keys, h.Epoch, h.Seq)
	return nil
}

// heldLease is the lease an admin command (registry import and reset, restore --promote) holds while it changes
// an S3 registry: renewed in the background from Acquire to release, so a command that runs longer than the TTL is
// not taken over by a starting instance, whose later upload would overwrite the change.
type heldLease struct {
	lease *snapshot.Lease
	epoch uint64 // from Acquire
	log   zerolog.Logger
	stop  context.CancelFunc
	kept  chan error // Keep's result
}

// holdLease acquires the lease (waiting out a silent holder) and starts renewing it. A holder that keeps
// renewing is an exit-3 error wrapping *snapshot.HeldError.
func holdLease(ctx context.Context, lease *snapshot.Lease, ttl time.Duration, log zerolog.Logger) (*heldLease, error) {
	epoch, err := lease.Acquire(ctx, takeoverWait(ttl))
	if err != nil {
		if errors.Is(err, snapshot.ErrLeaseHeld) {
			return nil, &exitError{code: exitFenced, err: err}
		}
		return nil, err
	}
	keepCtx, stop := context.WithCancel(ctx)
	h := &heldLease{lease: lease, epoch: epoch, log: log, stop: stop, kept: make(chan error, 1)}
	go func() { h.kept <- lease.Keep(keepCtx, 0) }()
	return h, nil
}

// publish runs upload, the command's one write of the registry, while no other instance can have taken the
// lease over: it waits for a renewal first when the last confirmed one is older than the TTL, and after the
// upload it checks that the lease was still confirmed when the upload ended (else it waits for the next
// renewal). A lease lost before the upload is an exit-3 error (nothing was changed); one lost around it too, as
// the instance that took over may overwrite the change; so is an upload refused because another instance wrote
// the registry.
func (h *heldLease) publish(ctx context.Context, upload func(context.Context) error) error {
	if err := h.lease.WaitConfirmed(ctx); err != nil {
		if errors.Is(err, snapshot.ErrLeaseLost) {
			return &exitError{code: exitFenced, err: fmt.Errorf("another instance took over the lease before the "+
				"change was uploaded; nothing was changed: %w", err)}
		}
		return err
	}
	if err := upload(ctx); err != nil {
		if errors.Is(err, snapshot.ErrConflict) {
			return &exitError{code: exitFenced, err: err}
		}
		return err
	}
	if h.lease.Confirmed() {
		return nil
	}
	// The upload outlasted the last confirmation: only the next renewal tells whether anyone took over meanwhile.
	if err := h.lease.WaitConfirmed(ctx); err != nil {
		if errors.Is(err, snapshot.ErrLeaseLost) {
			return &exitError{code: exitFenced, err: fmt.Errorf("the change was uploaded, but another instance took "+
				"over the lease meanwhile and may overwrite it; check with 'flicker registry show' and run the "+
				"command again: %w", err)}
		}
		return fmt.Errorf("the change was uploaded, but whether another instance took over meanwhile is unknown: %w", err)
	}
	return nil
}

// release stops the renewals and releases the lease, so the next instance starts at once.
func (h *heldLease) release() {
	h.stop()
	<-h.kept
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !h.lease.State().Held {
		return
	}
	if err := h.lease.Release(ctx); err != nil {
		h.log.Warn().Err(err).Msg("could not release the lease")
	}
}

// wrapExit wraps err with format (which must have one %w, after its args), keeping an exitError's code.
func wrapExit(err error, format string, args ...any) error {
	var ee *exitError
	if errors.As(err, &ee) {
		return &exitError{code: ee.code, err: fmt.Errorf(format, append(args, ee.err)...)}
	}
	return fmt.Errorf(format, append(args, err)...)
}
