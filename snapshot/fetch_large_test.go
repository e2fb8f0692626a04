package snapshot_test

import (
	"path/filepath"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/flickerlog/flicker/snapshot"
)

// TestFetchLargeSnapshot (found by the chaos harness, benchmarks/chaos): a snapshot larger than Fetch's first read
// (32 KiB) is read whole, with and without a progress report. minio-go's Object.Stat after a Read replaces the
// object's size with what is left to read, and its Read then stops at that offset: a restore of any registry
// bigger than a few hundred files failed as "truncated payload" and fell back to ever older history slots.
func TestFetchLargeSnapshot(t *testing.T) {
	_, c := restoreEnv(t)
	h := putSnapshot(t, c, testKeys.Latest, newRegistry(t, 5000))
	st, err := c.StatObject(leaseContext(t), testKeys.Bucket, testKeys.Latest, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Size < 3*32<<10 {
		t.Fatalf("the snapshot is %d bytes: too small to test", st.Size)
	}
	for name, progress := range map[string]snapshot.Progress{"without progress": nil,
		"with progress": func(done, total int64) {}} {
		t.Run(name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "copy.db")
			got, etag, err := snapshot.Fetch(leaseContext(t), c, testKeys.Bucket, testKeys.Latest, "", dst, progress)
			if err != nil || got.Seq != h.Seq || etag != st.ETag {
				t.Fatalf("Fetch = seq %d, etag %q, %v; want seq %d, etag %q", got.Seq, etag, err, h.Seq, st.ETag)
			}
		})
	}
}
