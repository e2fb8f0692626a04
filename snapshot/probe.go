package snapshot

import (
	"context"
	"fmt"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/flickerlog/flicker/internal/s3client"
)

// probeBody is what the probe leaves at Keys.Probe(): the If-None-Match check needs an object there.
const probeBody = "flicker conditional-write probe: the store must refuse writes here with If-Match on a random " +
	"ETag, and with If-None-Match: * once this object exists\n"

// ProbeConditionalWrites checks both conditional writes the lease and the snapshots rely on, at Keys.Probe():
// a PUT with If-Match on a random ETag must be refused (412 or 404; renewals and later snapshots), and so must a
// PUT with If-None-Match: * once an object is there (412; lease creation and first snapshots). The probe creates
// that object with If-None-Match: * if it is missing. true: the store refused both, so conditional writes work.
// false: it ignores one of them (GCS's S3 interop). Other errors are explained (s3client.Explain) and returned.
// It needs s3:PutObject on the key, like the snapshots themselves.
func ProbeConditionalWrites(ctx context.Context, client *minio.Client, keys Keys) (bool, error) {
	ifMatch := func(o *minio.PutObjectOptions) {
		// A random ETag matches no object, whether or not one is at the key.
		o.SetMatchETag(newWriteID())
	}
	ifNoneMatch := func(o *minio.PutObjectOptions) { o.SetMatchETagExcept("*") }
	refused, err := probePut(ctx, client, keys, ifMatch)
	if err != nil || !refused {
		return false, err
	}
	if refused, err = probePut(ctx, client, keys, ifNoneMatch); err != nil || refused {
		return refused, err // refused: an object was there, and the store would not overwrite it
	}
	// That write created the object (or the store ignored the header): the same write must now be refused.
	return probePut(ctx, client, keys, ifNoneMatch)
}

// probePut PUTs probeBody to Keys.Probe() with the condition cond sets, and reports whether the store refused
// it (412, or 404 for If-Match on a missing key).
func probePut(ctx context.Context, client *minio.Client, keys Keys, cond func(*minio.PutObjectOptions)) (bool, error) {
	key := keys.Probe()
	opts := minio.PutObjectOptions{ContentType: "text/plain", DisableMultipart: true, SendContentMd5: true}
	cond(&opts)
	_, err := client.PutObject(ctx, keys.Bucket, key, strings.NewReader(probeBody), int64(len(probeBody)), opts)
	switch {
	case err == nil:
		return false, nil
	case isConflict(err):
		return true, nil
	}
	return false, fmt.Errorf("probe conditional writes: %w", s3client.Explain(err, s3client.OpPutObject, keys.Bucket, key))
}
