package snapshot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/internal/s3client"
	"github.com/flickerlog/flicker/store"
)

// PublishOptions configure Publish.
type PublishOptions struct {
	Keys Keys
	// ETag is the latest object's ETag: the upload is made with If-Match on it, or with If-None-Match: * when
	// empty, so it fails (a conflict, see IsConflict) if another instance wrote in between.
	ETag string
	// Epoch, when not zero, is set in the registry before it is published (promote and import bump it).
	Epoch uint64
	Info  HeaderInfo
	// Unconditional skips If-Match (a store without conditional writes, or --force).
	Unconditional bool
}

// Publish uploads the registry file at path as the latest snapshot and returns its header and new ETag. The file
// must not be open elsewhere. It serves the first snapshot of a new registry, `restore --promote` and
// `registry import`; the running replicator has its own loop.
func Publish(ctx context.Context, client *minio.Client, path string, opts PublishOptions) (Header, string, error) {
	db, err := store.Open(path, store.Options{NoSync: true}, zerolog.Nop())
	if err != nil {
		return Header{}, "", fmt.Errorf("publish %s: %w", path, err)
	}
	if opts.Epoch != 0 {
		if err := db.SetEpoch(opts.Epoch); err != nil {
			_ = db.Close()
			return Header{}, "", fmt.Errorf("publish %s: set epoch: %w", path, err)
		}
	}
	snap, err := Build(db, opts.Info, filepath.Dir(path))
	if cerr := db.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return Header{}, "", fmt.Errorf("publish %s: %w", path, err)
	}
	defer snap.Close()
	put := minio.PutObjectOptions{DisableMultipart: true, SendContentMd5: true, UserMetadata: snap.Header.Metadata(),
		ContentType: "application/octet-stream"}
	switch {
	case opts.Unconditional:
	case opts.ETag == "":
		put.SetMatchETagExcept("*")
	default:
		put.SetMatchETag(opts.ETag)
	}
	info, err := client.PutObject(ctx, opts.Keys.Bucket, opts.Keys.Latest, snap.NewReader(), snap.Size(), put)
	if err != nil {
		if isConflict(err) {
			// A retry of a PUT that landed (its reply lost) is refused too: look before concluding.
			if e, serr := Stat(ctx, client, opts.Keys.Bucket, opts.Keys.Latest, ""); serr == nil && e.Err == nil &&
				sameSnapshot(e.Header, snap.Header) {
				return snap.Header, e.ETag, nil
			}
			return Header{}, "", fmt.Errorf("publish %s: %w: another instance wrote it in between", opts.Keys, ErrConflict)
		}
		return Header{}, "", s3client.Explain(err, s3client.OpPutObject, opts.Keys.Bucket, opts.Keys.Latest)
	}
	return snap.Header, info.ETag, nil
}

// PromoteOptions configure Promote.
type PromoteOptions struct {
	Publish  PublishOptions // Epoch must be newer than every stored snapshot's
	From     Entry          // the snapshot to make the latest: a history slot or a version
	TmpDir   string
	Progress Progress
}

// Promote downloads and verifies an older snapshot and uploads it as the latest at a new epoch, so a running
// writer of the old state is fenced and the next start restores it.
func Promote(ctx context.Context, client *minio.Client, opts PromoteOptions) (Header, string, error) {
	tmp, err := os.MkdirTemp(opts.TmpDir, "promote-*")
	if err != nil {
		return Header{}, "", fmt.Errorf("promote: %w", err)
	}
	defer os.RemoveAll(tmp)
	path := filepath.Join(tmp, "registry.db")
	if _, _, err := Fetch(ctx, client, opts.Publish.Keys.Bucket, opts.From.Key, opts.From.VersionID, path, opts.Progress); err != nil {
		return Header{}, "", fmt.Errorf("promote: %w", err)
	}
	h, etag, err := Publish(ctx, client, path, opts.Publish)
	if err != nil {
		return Header{}, "", fmt.Errorf("promote: %w", err)
	}
	return h, etag, nil
}

// sameSnapshot reports whether two headers describe the same snapshot object.
func sameSnapshot(a, b Header) bool {
	return a.WriterID == b.WriterID && a.Epoch == b.Epoch && a.Seq == b.Seq && a.PayloadSHA256 == b.PayloadSHA256
}
