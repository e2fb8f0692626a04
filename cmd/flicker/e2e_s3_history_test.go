package main_test

import (
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// TestS3LeaseOffHistoryRestoredWhenLatestLost (review of issue 17, finding 4): a registry written with
// --lease=off has history but no lease object. When its latest is lost, the first start with the lease creates
// the lease object; it must still restore the newest history slot, not start empty and ship everything again.
func TestS3LeaseOffHistoryRestoredWhenLatestLost(t *testing.T) {
	t.Parallel()
	f := newS3Fixture(t)
	appendLines(t, f.logPath, "x", 0, 20)
	if code, logs := f.runOnce("pod1", "--lease", "off", "--history-slots", historySlots); code != 0 {
		t.Fatalf("--lease=off run: exit %d:\n%s", code, logs)
	}
	if !f.missing(f.keys.Lease()) {
		t.Fatal("--lease=off wrote a lease object; the test proves nothing")
	}
	if _, ok := f.newestHistory(); !ok {
		t.Fatal("the --lease=off run left no history slot; the test proves nothing")
	}
	if err := f.client.RemoveObject(f.ctx(), f.keys.Bucket, f.keys.Latest, minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	appendLines(t, f.logPath, "y", 0, 5)
	code, logs := f.runOnce("pod2", "--history-slots", historySlots)
	if code != 0 || !strings.Contains(logs, "FALLBACK") {
		t.Fatalf("first run with the lease after the latest was lost: exit %d, want 0 and a FALLBACK to history:\n%s",
			code, logs)
	}
	if f.missing(f.keys.Lease()) {
		t.Fatal("the run with the lease wrote no lease object")
	}
	f.exactlyOnce("x", 20)
	f.exactlyOnce("y", 5)
}
