package main_test

import (
	"os"
	"path/filepath"
	"testing"
)

// An export taken from a registry at a higher epoch than the S3 registry it is imported into (a move to another
// bucket or key, after a few restarts of the old one) must import: the imported epoch is only a lower bound.
func TestImportOfAHigherEpochExportIntoS3(t *testing.T) {
	f := newS3Fixture(t)
	doc := `{"format":"flicker-registry","version":3,
	 "meta":{"format_version":4,"instance_id":"old","epoch":7,"seq":1234,"updated":"2026-01-01T00:00:00Z"},
	 "files":[{"input":"app","inode":42,"device":1,"path":"` + f.logPath + `","offset":10,"size":10,
	   "generation":0,"fingerprint":"","fingerprint_len":0,"last_seen":"2026-01-01T00:00:00Z",
	   "birth_time":"0001-01-01T00:00:00Z"}],
	 "cursors":[]}`
	path := filepath.Join(t.TempDir(), "export.json")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := f.flicker("registry", "import", "--registry-file", f.registry, "--lease-ttl", "2s", path)
	if code != 0 {
		t.Fatalf("import of an export at epoch 7 into a new S3 registry: exit %d:\n%s", code, out)
	}
	h, off := f.latest()
	if h.Epoch < 7 || off != 10 {
		t.Fatalf("after import: epoch %d, offset %d", h.Epoch, off)
	}
}
