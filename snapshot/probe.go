package snapshot

import (
	"context"
	"fmt"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/flickerlog/flicker/internal/s3client"
)

// probeBody is what a store that ignores If-Match ends up holding at Keys.Probe(); a store that honours it
// stores nothing.
const probeBody = "flicker conditional-write probe: if this object exists, the store ignored If-Match\n"

// ProbeConditionalWrites PUTs Keys.Probe() with If-Match on a random ETag. true: the store refused it (412 or 404),
// so conditional writes work. false: the write succeeded, so the store ignores If-Match (GCS's S3 interop).
// Other errors are explained (s3client.Explain) and returned. It needs s3:PutObject on the key, like the
// snapshots themselves.
func ProbeConditionalWrites(ctx context.Context, client *minio.Client, keys Keys) (bool, error) {
	key := keys.Probe()
	opts := minio.PutObjectOptions{ContentType: "text/plain", DisableMultipart: true, SendContentMd5: true}
	// A random ETag matches no object, whether or not one is at the key (an earlier probe on a store that
	// ignores If-Match leaves one).
	opts.SetMatchETag(newWriteID())
	_, err := client.PutObject(ctx, keys.Bucket, key, strings.NewReader(probeBody), int64(len(probeBody)), opts)
	switch {
	case err == nil:
		return false, nil
	case isConflict(err):
		return true, nil
	}
	return false, fmt.Errorf("probe conditional writes: %w", s3client.Explain(err, s3client.OpPutObject, keys.Bucket, key))
}
