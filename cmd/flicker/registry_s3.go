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
	return c.modifyS3(e, c.LeaseTTL, "import into", "imported into", func(db *store.DB) error {
		if err := db.Import(r); err != nil {
			return &exitError{code: exitUsage, err: err}
		}
		return nil
	})
}

// modifyS3 changes an S3 registry with change: it takes the lease (refusing while another instance holds it),
// restores the latest state, applies change to it and uploads it at a new epoch with If-Match, then releases the
// lease. verb names the command in errors ("import into"), done in the closing line ("imported into").
func (l registryLocation) modifyS3(e *env, leaseTTL time.Duration, verb, done string, change func(*store.DB) error) error {
	client, keys, err := l.client(l.RegistryFile)
	if err != nil {
		return err
	}
	log := newLogger(e.stderr, e.cli.LogLevel, e.cli.LogFormat)
	ctx, cancel := context.WithTimeout(context.Background(), s3CommandTimeout)
	defer cancel()
	writerID, host := writerIdentity()
	writerID = "registry-" + writerID
	lease := snapshot.NewLease(client, snapshot.LeaseOptions{Bucket: keys.Bucket, Key: keys.Lease(),
		WriterID: writerID, Hostname: host, TTL: leaseTTL, Logger: log})
	epoch, err := lease.Acquire(ctx, takeoverWait(leaseTTL))
	if err != nil {
		var held *snapshot.HeldError
		if errors.As(err, &held) {
			return &exitError{code: exitFenced, err: fmt.Errorf("%s %s: %w; stop it first", verb, keys, err)}
		}
		return err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := lease.Release(rctx); err != nil {
			log.Warn().Err(err).Msg("could not release the lease")
		}
	}()
	tmp, err := os.MkdirTemp("", "flicker-registry-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	path := filepath.Join(tmp, "registry.db")
	res, err := snapshot.Restore(ctx, client, snapshot.RestoreOptions{Keys: keys, Path: path, WriterID: writerID,
		Hostname: host, Logger: log})
	if err != nil {
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
	if err := db.Close(); err != nil {
		return err
	}
	h, _, err := snapshot.Publish(ctx, client, path, snapshot.PublishOptions{Keys: keys, ETag: res.ETag,
		Epoch: max(epoch, res.Header.Epoch+1), Info: snapshot.HeaderInfo{WriterID: writerID, Hostname: host}})
	if err != nil {
		return fmt.Errorf("%s %s: %w", verb, keys, err)
	}
	fmt.Fprintf(e.stderr, "%s %s (epoch %d, seq %d)\n", done, keys, h.Epoch, h.Seq)
	return nil
}
