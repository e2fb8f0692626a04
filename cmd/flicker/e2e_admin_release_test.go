package main_test

import (
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// An admin command (registry reset/import, restore --promote) releases the lease after uploading the latest. The
// released record's latest_etag must be the ETag of that upload: the next instance's first upload is made on it,
// and any other value makes that instance believe a stale writer uploaded after the release, so it pauses its
// inputs for TTL plus skew (2 minutes with the chart's daemonset TTL) after every admin command.
func TestAdminReleaseRecordsItsOwnUpload(t *testing.T) {
	f := newS3Fixture(t)
	appendLines(t, f.logPath, "r", 0, 10)
	if code, logs := f.runOnce("pod1"); code != 0 {
		t.Fatalf("run: exit %d:\n%s", code, logs)
	}
	if code, out := f.flicker("registry", "reset", "app", "--registry-file", f.registry, "--lease-ttl", "2s"); code != 0 {
		t.Fatalf("reset: exit %d:\n%s", code, out)
	}
	st, err := f.client.StatObject(f.ctx(), f.keys.Bucket, f.keys.Latest, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec := f.leaseRecord()
	code, logs := f.runOnce("pod2")
	if code != 0 {
		t.Fatalf("run after reset: exit %d:\n%s", code, logs)
	}
	held := strings.Contains(logs, "waiting until its confirmation has lapsed")
	if !rec.Released || strings.Trim(rec.LatestETag, `"`) != strings.Trim(st.ETag, `"`) || held {
		t.Fatalf("after registry reset: lease released %t with latest_etag %q, the latest's ETag is %q; the next "+
			"start held its inputs for TTL+skew: %t", rec.Released, rec.LatestETag, st.ETag, held)
	}
}
