package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/snapshot"
)

// RestoreCmd is disaster recovery for an S3 registry: list and verify what is stored, download a snapshot to a
// local file, or make an older one the latest.
type RestoreCmd struct {
	RegistryFile string `name:"registry-file" required:"" placeholder:"s3://BUCKET/KEY" help:"The S3 registry, as given to 'flicker run'."`
	s3Flags      `embed:""`

	List      bool   `name:"list" help:"List the latest snapshot and the history slots: epoch, seq, created, writer, size (HEAD requests only)." xor:"action"`
	Verify    bool   `name:"verify" help:"With --list: download and verify each snapshot (checksums, bbolt check)."`
	Versions  bool   `name:"versions" help:"With --list: list the stored versions of the latest object instead (a versioned bucket; needs s3:ListBucketVersions)."`
	To        string `name:"to" placeholder:"PATH" help:"Download the chosen snapshot (default: the latest), verify it and write it as a local registry file at PATH." xor:"action"`
	Promote   bool   `name:"promote" help:"Make an older snapshot (--at, --seq or --version-id) the latest, at a new epoch; refused while another instance holds the lease, unless --force." xor:"action"`
	At        string `name:"at" placeholder:"TIME" help:"Choose the newest snapshot created at or before TIME (RFC 3339, e.g. 2026-01-02T15:04:05Z)."`
	Seq       uint64 `name:"seq" help:"Choose the snapshot with this seq (the newest epoch when several have it)."`
	VersionID string `name:"version-id" placeholder:"ID" help:"Choose this version of the latest object (see --list --versions)."`
	Force     bool   `name:"force" help:"--to: overwrite an existing file. --promote: do not check the lease."`

	HistorySlots int           `name:"history-slots" default:"288" help:"Number of history slots, as given to 'flicker run'."`
	LeaseTTL     time.Duration `name:"lease-ttl" default:"15s" help:"Lease TTL, as given to 'flicker run' (used by --promote)."`
	Timeout      time.Duration `name:"timeout" default:"10m" help:"Give up after this long."`
}

// Run does the one action asked for.
func (c *RestoreCmd) Run(e *env) error {
	if !isS3(c.RegistryFile) {
		return usageError("--registry-file %s: restore works on s3:// registries (a local registry is its own file)", c.RegistryFile)
	}
	selectors := 0
	for _, set := range []bool{c.At != "", c.Seq != 0, c.VersionID != ""} {
		if set {
			selectors++
		}
	}
	switch {
	case !c.List && c.To == "" && !c.Promote:
		return usageError("restore: say what to do: --list, --to PATH or --promote")
	case (c.Verify || c.Versions) && !c.List:
		return usageError("restore: --verify and --versions go with --list")
	case c.List && selectors > 0:
		return usageError("restore: --at, --seq and --version-id choose a snapshot for --to or --promote, not --list")
	case selectors > 1:
		return usageError("restore: choose with one of --at, --seq or --version-id")
	case c.Promote && selectors == 0:
		return usageError("restore --promote: choose the snapshot with --at, --seq or --version-id")
	}
	if c.At != "" { // checked before S3 is asked anything
		if _, err := time.Parse(time.RFC3339, c.At); err != nil {
			return usageError("--at %q: want RFC 3339, e.g. 2026-01-02T15:04:05Z", c.At)
		}
	}
	client, keys, err := c.client(c.RegistryFile)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	log := newLogger(e.stderr, e.cli.LogLevel, e.cli.LogFormat)
	switch {
	case c.List:
		return c.list(ctx, e, client, keys)
	case c.To != "":
		return c.restoreTo(ctx, e, client, keys)
	}
	return c.promote(ctx, e, client, keys, log)
}

func (c *RestoreCmd) entries(ctx context.Context, client *minio.Client, keys snapshot.Keys) ([]snapshot.Entry, error) {
	if c.Versions || c.VersionID != "" {
		return snapshot.Versions(ctx, client, keys)
	}
	return snapshot.List(ctx, client, keys, c.HistorySlots)
}

func (c *RestoreCmd) list(ctx context.Context, e *env, client *minio.Client, keys snapshot.Keys) error {
	entries, err := c.entries(ctx, client, keys)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "flicker-verify-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	if c.Versions {
		fmt.Fprintln(tw, "VERSION\tCURRENT\tEPOCH\tSEQ\tCREATED\tWRITER\tHOST\tSIZE\tSTATUS")
	} else {
		fmt.Fprintln(tw, "OBJECT\tEPOCH\tSEQ\tCREATED\tWRITER\tHOST\tSIZE\tSTATUS")
	}
	bad := 0
	for _, en := range entries {
		status := "ok (metadata)"
		switch {
		case en.Err != nil:
			status, bad = en.Err.Error(), bad+1
		case c.Verify:
			_, _, err := snapshot.Fetch(ctx, client, keys.Bucket, en.Key, en.VersionID, filepath.Join(tmp, "check.db"), nil)
			if err != nil {
				status, bad = "BAD: "+err.Error(), bad+1
			} else {
				status = "verified"
			}
		}
		h := en.Header
		row := fmt.Sprintf("%d\t%d\t%s\t%s\t%s\t%d\t%s", h.Epoch, h.Seq, h.Created.UTC().Format(time.RFC3339),
			h.WriterID, h.Hostname, en.Size, status)
		if c.Versions {
			fmt.Fprintf(tw, "%s\t%v\t%s\n", en.VersionID, en.Latest, row)
		} else {
			fmt.Fprintf(tw, "%s\t%s\n", en.Key, row)
		}
	}
	if len(entries) == 0 {
		fmt.Fprintf(tw, "(no snapshots at %s)\n", keys)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d snapshots are not usable", bad, len(entries))
	}
	return nil
}

// choose picks the snapshot --at, --seq or --version-id names, or the latest.
func (c *RestoreCmd) choose(ctx context.Context, client *minio.Client, keys snapshot.Keys) (snapshot.Entry, error) {
	entries, err := c.entries(ctx, client, keys)
	if err != nil {
		return snapshot.Entry{}, err
	}
	var at time.Time
	if c.At != "" {
		if at, err = time.Parse(time.RFC3339, c.At); err != nil {
			return snapshot.Entry{}, usageError("--at %q: want RFC 3339, e.g. 2026-01-02T15:04:05Z", c.At)
		}
	}
	var best *snapshot.Entry
	for i := range entries {
		en := &entries[i]
		switch {
		case en.Err != nil:
			continue
		case c.VersionID != "":
			if en.VersionID == c.VersionID {
				return *en, nil
			}
			continue
		case c.Seq != 0 && en.Header.Seq != c.Seq:
			continue
		case !at.IsZero() && en.Header.Created.After(at):
			continue
		case c.At == "" && c.Seq == 0 && en.Slot != -1:
			continue // no selector: the latest only
		}
		if best == nil || olderEntry(*best, *en) {
			best = en
		}
	}
	if best == nil {
		what := "no usable latest snapshot"
		switch {
		case c.VersionID != "":
			what = "no usable version " + c.VersionID
		case c.Seq != 0:
			what = fmt.Sprintf("no usable snapshot with seq %d", c.Seq)
		case c.At != "":
			what = "no usable snapshot created at or before " + c.At
		}
		return snapshot.Entry{}, fmt.Errorf("%s: %s ('flicker restore --list' shows what is stored)", keys, what)
	}
	return *best, nil
}

func olderEntry(a, b snapshot.Entry) bool {
	return a.Header.Epoch < b.Header.Epoch || a.Header.Epoch == b.Header.Epoch && a.Header.Seq < b.Header.Seq
}

func (c *RestoreCmd) restoreTo(ctx context.Context, e *env, client *minio.Client, keys snapshot.Keys) error {
	if _, err := os.Stat(c.To); err == nil && !c.Force {
		return usageError("--to %s: the file exists; remove it or pass --force (never point at a running registry)", c.To)
	}
	en, err := c.choose(ctx, client, keys)
	if err != nil {
		return err
	}
	h, _, err := snapshot.Fetch(ctx, client, keys.Bucket, en.Key, en.VersionID, c.To, progressTo(e.stderr, en.Key))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "restored %s (epoch %d, seq %d, created %s by %s on %s) to %s\n", en.Key, h.Epoch, h.Seq,
		h.Created.UTC().Format(time.RFC3339), h.WriterID, h.Hostname, absPath(c.To))
	return nil
}

func (c *RestoreCmd) promote(ctx context.Context, e *env, client *minio.Client, keys snapshot.Keys, log zerolog.Logger) error {
	writerID, host := writerIdentity()
	writerID = "restore-" + writerID
	var epoch uint64
	var held *heldLease // nil with --force
	if !c.Force {
		lease := snapshot.NewLease(client, snapshot.LeaseOptions{Bucket: keys.Bucket, Key: keys.Lease(),
			WriterID: writerID, Hostname: host, TTL: c.LeaseTTL, Latest: keys.Latest, Logger: log})
		var err error
		held, err = holdLease(ctx, lease, c.LeaseTTL, log)
		if errors.Is(err, snapshot.ErrLeaseHeld) {
			return wrapExit(err, "restore --promote: %w; stop it first or pass --force")
		}
		if err != nil {
			return err
		}
		defer held.release()
		epoch = held.epoch
	}
	en, err := c.choose(ctx, client, keys)
	if err != nil {
		return err
	}
	all, err := snapshot.List(ctx, client, keys, c.HistorySlots)
	if err != nil {
		return err
	}
	latestETag := ""
	for _, x := range all {
		epoch = max(epoch, x.Header.Epoch+1)
		if x.Slot == -1 {
			latestETag = x.ETag
		}
	}
	epoch = max(epoch, en.Header.Epoch+1)
	tmp, err := os.MkdirTemp("", "flicker-promote-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var h snapshot.Header
	promote := func(ctx context.Context) (err error) {
		var etag string
		h, etag, err = snapshot.Promote(ctx, client, snapshot.PromoteOptions{From: en, TmpDir: tmp,
			Progress: progressTo(e.stderr, en.Key), Publish: snapshot.PublishOptions{Keys: keys, ETag: latestETag,
				Epoch: epoch, Info: snapshot.HeaderInfo{WriterID: writerID, Hostname: host}}})
		if err == nil && held != nil {
			held.lease.LatestWritten(etag)
		}
		return err
	}
	if held != nil {
		err = held.publish(ctx, promote)
	} else {
		err = promote(ctx)
	}
	if err != nil {
		return wrapExit(err, "restore --promote %s: %w", keys)
	}
	fmt.Fprintf(e.stdout, "promoted %s (seq %d) to %s at epoch %d; the next start restores it\n", en.Key, h.Seq, keys, h.Epoch)
	return nil
}

// progressTo reports download progress on w when it is a terminal, as one line rewritten in place.
func progressTo(w io.Writer, key string) snapshot.Progress {
	f, ok := w.(*os.File)
	if !ok || !isatty.IsTerminal(f.Fd()) {
		return nil
	}
	return func(done, total int64) {
		fmt.Fprintf(w, "\rdownloading %s: %.1f of %.1f MiB", key, float64(done)/(1<<20), float64(total)/(1<<20))
		if done >= total {
			fmt.Fprintln(w)
		}
	}
}
