package main

import (
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/sources/file"
	"github.com/flickerlog/flicker/store"
)

// TestFileRegistryRemoveForgetsOutputPositions: a file the source forgets takes the per-output positions of its
// streams (every generation) along with its state; other files keep theirs.
func TestFileRegistryRemoveForgetsOutputPositions(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "reg.db"), store.Options{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reg, outs := fileRegistry{db: db}, outputPositions{db: db}
	gen0, gen1, other := file.StreamKeyPrefix(3, 7)+"seed-g0", file.StreamKeyPrefix(3, 7)+"seed-g1", file.StreamKeyPrefix(3, 8)+"seed"
	for _, key := range []string{gen0, gen1, other} {
		outs.Save("app", key, "healthy", 100)
	}
	reg.Save("app", file.State{Device: 3, Inode: 7, Path: "/logs/a.log", Offset: 10})
	if err := db.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	reg.Remove("app", 3, 7)
	if err := db.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int{gen0: 0, gen1: 0, other: 1} {
		got, err := outs.Load("app", key)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != want {
			t.Fatalf("positions of stream %q after its file was forgotten: %v", key, got)
		}
	}
	if states, err := reg.Load("app"); err != nil || len(states) != 0 {
		t.Fatalf("file states after Remove: %v (err %v)", states, err)
	}
}
