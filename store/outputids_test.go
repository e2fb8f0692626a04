package store_test

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/flickerlog/flicker/store"
)

func TestOutputIDs(t *testing.T) {
	type op func(db *store.DB)
	put := func(input, stream, id, output string) op {
		return func(db *store.DB) { db.PutOutputID(input, stream, id, output) }
	}
	del := func(input, stream, id string) op { return func(db *store.DB) { db.DeleteOutputID(input, stream, id) } }
	reset := func(input string) op { return func(db *store.DB) { db.DeleteInput(input) } }
	keep := func(input, stream string) op { return func(db *store.DB) { db.KeepOutputIDsOf(input, stream) } }

	type want struct {
		input, stream string
		ids           map[string][]string // nil: none stored
	}
	tests := []struct {
		name  string
		steps [][]op // each step is queued, then flushed
		want  []want
	}{
		{"outputs of an id add up", [][]op{{put("a", "s", "u1", "file"), put("a", "s", "u1", "file"),
			put("a", "s", "u2", "file")}, {put("a", "s", "u1", "es")}},
			[]want{{"a", "s", map[string][]string{"u1": {"es", "file"}, "u2": {"file"}}}}},
		{"delete removes the id for every output", [][]op{{put("a", "s", "u1", "file"), put("a", "s", "u1", "es"),
			put("a", "s", "u2", "file")}, {del("a", "s", "u1")}},
			[]want{{"a", "s", map[string][]string{"u2": {"file"}}}}},
		{"put and delete in one commit leave nothing", [][]op{{put("a", "s", "u1", "file"), del("a", "s", "u1")}},
			[]want{{"a", "s", nil}}},
		{"put after delete in one commit starts over", [][]op{{put("a", "s", "u1", "file")},
			{del("a", "s", "u1"), put("a", "s", "u1", "es")}},
			[]want{{"a", "s", map[string][]string{"u1": {"es"}}}}},
		{"streams and inputs apart", [][]op{{put("a", "s", "u1", "f"), put("a", "s2", "u1", "f"),
			put("ab", "s", "u1", "f"), put("a", "", "su1", "f")}, {del("a", "s", "u1")}},
			[]want{{"a", "s", nil}, {"a", "s2", map[string][]string{"u1": {"f"}}},
				{"ab", "s", map[string][]string{"u1": {"f"}}}, {"a", "", map[string][]string{"su1": {"f"}}}}},
		{"registry reset clears the input", [][]op{{put("a", "s", "u1", "f"), put("ab", "s", "u1", "f")}, {reset("a")}},
			[]want{{"a", "s", nil}, {"ab", "s", map[string][]string{"u1": {"f"}}}}},
		{"a put queued after the reset survives", [][]op{{put("a", "s", "u1", "f")},
			{reset("a"), put("a", "s", "u2", "f")}},
			[]want{{"a", "s", map[string][]string{"u2": {"f"}}}}},
		{"keep drops the input's other streams", [][]op{{put("a", "s1", "u1", "f"), put("a", "s2", "u2", "f"),
			put("b", "s1", "u3", "f")}, {keep("a", "s2")}},
			[]want{{"a", "s1", nil}, {"a", "s2", map[string][]string{"u2": {"f"}}}, {"b", "s1", map[string][]string{"u3": {"f"}}}}},
		{"ids queued after the keep survive", [][]op{{put("a", "s1", "u1", "f")}, {keep("a", "s2"), put("a", "s1", "u9", "f")}},
			[]want{{"a", "s1", map[string][]string{"u9": {"f"}}}}},
		{"odd bytes", [][]op{{put("a", "s\x00t", "\x00é\xff", "out put")}},
			[]want{{"a", "s\x00t", map[string][]string{"\x00é\xff": {"out put"}}}, {"a", "s", nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tempPath(t)
			db := openT(t, path, quiet)
			for _, step := range tt.steps {
				for _, o := range step {
					o(db)
				}
				flush(t, db)
			}
			check := func(db *store.DB, when string) {
				t.Helper()
				for _, w := range tt.want {
					got, err := db.OutputIDs(w.input, w.stream)
					if err != nil {
						t.Fatal(err)
					}
					if !maps.EqualFunc(got, w.ids, slices.Equal) || (got == nil) != (w.ids == nil) {
						t.Fatalf("%s: ids of %s/%q = %q, want %q", when, w.input, w.stream, got, w.ids)
					}
				}
			}
			check(db, "committed")
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			check(openT(t, path, quiet), "after reopen")
		})
	}
}

// TestOutputIDsBucketOnlyWhenNeeded: deletions of ids never stored (outputs that were ahead only between two
// commits) create no bucket and write no id.
func TestOutputIDsBucketOnlyWhenNeeded(t *testing.T) {
	db := openT(t, tempPath(t), quiet)
	db.PutCursor(store.CursorRecord{Input: "a", Cursor: "c1"})
	for i := range 100 {
		id := string(rune('a' + i%26))
		db.PutOutputID("a", "s", id, "f")
		db.DeleteOutputID("a", "s", id)
	}
	flush(t, db)
	if n, err := db.OutputIDCount(""); err != nil || n != 0 {
		t.Fatalf("%d ids stored (err %v)", n, err)
	}
	db.PutOutputID("a", "s", "u", "f")
	flush(t, db)
	if n, err := db.OutputIDCount("a"); err != nil || n != 1 {
		t.Fatalf("%d ids of input a stored after a put, want 1 (err %v)", n, err)
	}
}

// TestOutputIDsInSnapshotAndImport: a snapshot carries the ids; an import replaces every cursor, and the ids go.
func TestOutputIDsInSnapshotAndImport(t *testing.T) {
	db := openT(t, tempPath(t), quiet)
	db.PutCursor(store.CursorRecord{Input: "a", Cursor: "c1"})
	db.PutOutputID("a", "s", "u1", "f")
	flush(t, db)

	snap := filepath.Join(t.TempDir(), "snap.db")
	f, err := os.Create(snap)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.WriteSnapshot(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	restored := openT(t, snap, quiet)
	if got, _ := restored.OutputIDs("a", "s"); !slices.Equal(got["u1"], []string{"f"}) {
		t.Fatalf("ids in the snapshot: %v", got)
	}

	var export bytes.Buffer
	if err := db.Export(&export); err != nil {
		t.Fatal(err)
	}
	if err := restored.Import(&export); err != nil {
		t.Fatal(err)
	}
	if n, err := restored.OutputIDCount(""); err != nil || n != 0 {
		t.Fatalf("%d ids kept after an import (err %v)", n, err)
	}
}

// TestKeepOutputIDsOfNothingElseCommitsNothing: keeping the only stream with ids (every start of an API source
// whose endpoint did not change) queues nothing.
func TestKeepOutputIDsOfNothingElseCommitsNothing(t *testing.T) {
	db := openT(t, tempPath(t), quiet)
	db.PutOutputID("a", "s", "u", "f")
	db.PutOutputID("ab", "t", "u", "f")
	flush(t, db)
	seq := db.Meta().Seq
	db.KeepOutputIDsOf("a", "s")
	db.KeepOutputIDsOf("c", "s")
	flush(t, db)
	if got := db.Meta().Seq; got != seq {
		t.Fatalf("seq %d after keeping the only streams, want %d: a commit without a change", got, seq)
	}
	if n, err := db.OutputIDCount(""); err != nil || n != 2 {
		t.Fatalf("%d ids stored, want 2 (err %v)", n, err)
	}
}
