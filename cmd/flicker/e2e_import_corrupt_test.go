package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// When every stored snapshot is corrupt, `registry import` rebuilds the registry from an export (it replaces every
// record), and `registry reset`, which needs the stored state, refuses with advice its user can follow, not
// run's --allow-empty-start.
func TestImportRebuildsACorruptS3Registry(t *testing.T) {
	f := newS3Fixture(t)
	appendLines(t, f.logPath, "c", 0, 10)
	if code, logs := f.runOnce("pod1", "--history-slots", "1"); code != 0 {
		t.Fatalf("run: exit %d:\n%s", code, logs)
	}
	code, exported := f.flicker("registry", "export", "--registry-file", f.registry)
	if code != 0 {
		t.Fatalf("export: exit %d:\n%s", code, exported)
	}
	path := filepath.Join(t.TempDir(), "export.json")
	if err := os.WriteFile(path, []byte(exported), 0o644); err != nil {
		t.Fatal(err)
	}
	_, before := f.latest()
	if err := f.client.RemoveObject(f.ctx(), f.keys.Bucket, f.keys.History(0), minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	f.corruptLatest()
	code, out := f.flicker("registry", "reset", "app", "--registry-file", f.registry, "--lease-ttl", "2s")
	if code == 0 || strings.Contains(out, "--allow-empty-start") || !strings.Contains(out, "registry import") {
		t.Errorf("reset over a corrupt registry: exit %d, want a refusal naming 'registry import', not --allow-empty-start:\n%s",
			code, out)
	}
	if code, out := f.flicker("registry", "import", "--registry-file", f.registry, "--lease-ttl", "2s", path); code != 0 {
		t.Fatalf("import over a corrupt registry: exit %d:\n%s", code, out)
	}
	if _, after := f.latest(); after != before || before == 0 {
		t.Errorf("after the import the latest holds offset %d, the export %d", after, before)
	}
}
