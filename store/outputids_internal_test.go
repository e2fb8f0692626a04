package store

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// A failed commit keeps its ids queued under newer changes: a newer deletion wins, newer outputs add up.
func TestFailedCommitKeepsOutputIDs(t *testing.T) {
	db, err := Open(t.TempDir()+"/registry.db", Options{CommitInterval: time.Hour}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	db.PutCursor(CursorRecord{Input: "a", Cursor: "c0"})
	if err := db.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	db.bolt.MaxSize = 1 // no page can be allocated: every commit fails
	long := strings.Repeat("x", 3000)
	db.PutOutputID("a", "s", "u1"+long, "f")
	db.PutOutputID("a", "s", "u2"+long, "f")
	db.PutOutputID("a", "s", "u3"+long, "f")
	if err := db.Flush(ctx); err == nil {
		t.Fatal("commit over MaxSize succeeded")
	}
	db.DeleteOutputID("a", "s", "u1"+long)
	db.PutOutputID("a", "s", "u2"+long, "es")

	db.bolt.MaxSize = 0
	if err := db.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := db.OutputIDs("a", "s")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"u2" + long: {"es", "f"}, "u3" + long: {"f"}}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("%d ids stored after the retried commit, want u2 for es and f, u3 for f", len(got))
	}
}
