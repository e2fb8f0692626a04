package container

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dockerd replaces config.v2.json atomically (a new inode each time). Two writes in quick succession often get
// the same mtime (the kernel stamps files with a coarse clock) and a rename to a name of the same length keeps
// the size: the cache, keyed on size and mtime only, then keeps the old name for good.
func TestDockerMetaSeesRewriteWithSameSizeAndTime(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("a", 64))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, strings.Repeat("a", 64)+"-json.log")
	cfgPath := filepath.Join(dir, "config.v2.json")
	write := func(name string) {
		tmp := filepath.Join(dir, ".tmp-config.v2.json")
		if err := os.WriteFile(tmp, []byte(`{"Name":"/`+name+`","Config":{"Image":"nginx"}}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, cfgPath); err != nil { // atomic, as dockerd's atomic writer
			t.Fatal(err)
		}
	}
	m := &dockerMeta{cfg: &Config{}, byDir: map[string]*containerInfo{}}
	for i := range 200 {
		write("web-1")
		if meta := string(m.meta(logPath)); !strings.Contains(meta, `"name":"web-1"`) {
			t.Fatalf("round %d: metadata %s before the rename", i, meta)
		}
		write("web-2") // docker rename, right after the config was read
		if meta := string(m.meta(logPath)); !strings.Contains(meta, `"name":"web-2"`) {
			a, _ := os.ReadFile(cfgPath)
			t.Fatalf("round %d: config.v2.json now holds %s, metadata still %s", i, a, meta)
		}
	}
}

// A removed container's metadata stays while its logs are asked for, and is forgotten once nothing asked for it
// for forgetRemovedAfter.
func TestDockerMetaForgetsRemovedContainers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("b", 64))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, strings.Repeat("b", 64)+"-json.log")
	cfgPath := filepath.Join(dir, "config.v2.json")
	if err := os.WriteFile(cfgPath, []byte(`{"Name":"/web-1","Config":{"Image":"nginx"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	m := &dockerMeta{cfg: &Config{}, byDir: map[string]*containerInfo{}}
	m.meta(logPath)
	if err := os.Remove(cfgPath); err != nil {
		t.Fatal(err)
	}
	if meta := string(m.meta(logPath)); !strings.Contains(meta, `"name":"web-1"`) {
		t.Fatalf("metadata after the removal: %s", meta)
	}
	m.sweep(time.Now().Add(forgetRemovedAfter / 2))
	if len(m.byDir) != 1 {
		t.Fatalf("forgotten %v after it was asked for", forgetRemovedAfter/2)
	}
	m.sweep(time.Now().Add(forgetRemovedAfter + time.Second))
	if len(m.byDir) != 0 {
		t.Fatalf("%d containers still known %v after the last ask", len(m.byDir), forgetRemovedAfter)
	}
}
