package snapshot_test

import (
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/flickerlog/flicker/internal/miniotest"
	"github.com/flickerlog/flicker/snapshot"
)

func TestProbeConditionalWrites(t *testing.T) {
	srv := miniotest.Start(t)
	root := rootClient(t, srv)

	t.Run("MinIO honours If-Match", func(t *testing.T) {
		keys := replBucket(t, srv)
		for range 2 { // a second probe finds the same
			ok, err := snapshot.ProbeConditionalWrites(leaseContext(t), root, keys)
			if err != nil || !ok {
				t.Fatalf("probe = %v, %v; want true", ok, err)
			}
		}
		if !objectMissing(t, root, keys.Bucket, keys.Probe()) {
			t.Fatal("the refused probe stored an object")
		}
	})

	t.Run("an object already at the probe key", func(t *testing.T) {
		keys := replBucket(t, srv)
		body := "left by a probe on a store that ignored If-Match"
		if _, err := root.PutObject(leaseContext(t), keys.Bucket, keys.Probe(), strings.NewReader(body),
			int64(len(body)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		ok, err := snapshot.ProbeConditionalWrites(leaseContext(t), root, keys)
		if err != nil || !ok {
			t.Fatalf("probe = %v, %v; want true", ok, err)
		}
	})

	t.Run("a missing bucket is an error", func(t *testing.T) {
		keys := snapshot.Keys{Bucket: "no-such-bucket", Latest: replKey}
		ok, err := snapshot.ProbeConditionalWrites(leaseContext(t), root, keys)
		if err == nil || ok || !strings.Contains(err.Error(), "does not exist") {
			t.Fatalf("probe = %v, %v; want an error saying the bucket does not exist", ok, err)
		}
	})
}
