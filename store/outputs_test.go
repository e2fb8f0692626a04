package store_test

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/flickerlog/flicker/store"
)

func TestOutputPositions(t *testing.T) {
	type op func(db *store.DB)
	put := func(input, stream, output string, pos int64) op {
		return func(db *store.DB) { db.PutOutputPosition(input, stream, output, pos) }
	}
	clearS := func(input, stream string) op { return func(db *store.DB) { db.ClearOutputPositions(input, stream) } }
	prefix := func(input, p string) op { return func(db *store.DB) { db.DeleteOutputPositions(input, p) } }
	reset := func(input string) op { return func(db *store.DB) { db.DeleteInput(input) } }
	move := func(input, from, to string) op {
		return func(db *store.DB) {
			if err := db.MoveOutputPositions(input, from, to); err != nil {
				panic(err)
			}
		}
	}

	type want struct {
		input, stream string
		pos           map[string]int64 // nil: none stored
	}
	tests := []struct {
		name  string
		steps [][]op // each step is queued, then flushed
		want  []want
	}{
		{"latest value per output wins", [][]op{{put("a", "s1", "file", 10), put("a", "s1", "file", 30),
			put("a", "s1", "es", 20)}},
			[]want{{"a", "s1", map[string]int64{"file": 30, "es": 20}}}},
		{"later commits merge per output", [][]op{{put("a", "s1", "file", 10), put("a", "s1", "es", 5)},
			{put("a", "s1", "file", 40)}},
			[]want{{"a", "s1", map[string]int64{"file": 40, "es": 5}}}},
		{"move takes every output's position to the new key", [][]op{{put("a", "s1", "file", 10),
			put("a", "s1", "es", 5), put("a", "s2", "file", 7)}, {move("a", "s1", "s3")}},
			[]want{{"a", "s1", nil}, {"a", "s3", map[string]int64{"file": 10, "es": 5}}, {"a", "s2", map[string]int64{"file": 7}}}},
		{"move of a stream without positions changes nothing", [][]op{{put("a", "s2", "file", 7)}, {move("a", "s1", "s3")}},
			[]want{{"a", "s1", nil}, {"a", "s3", nil}, {"a", "s2", map[string]int64{"file": 7}}}},
		{"clear removes the stream only", [][]op{{put("a", "s1", "file", 10), put("a", "s2", "file", 7)},
			{clearS("a", "s1")}},
			[]want{{"a", "s1", nil}, {"a", "s2", map[string]int64{"file": 7}}}},
		{"put after clear in one commit starts over", [][]op{{put("a", "s1", "file", 10), put("a", "s1", "es", 3)},
			{clearS("a", "s1"), put("a", "s1", "es", 50)}},
			[]want{{"a", "s1", map[string]int64{"es": 50}}}},
		{"clear after put in one commit leaves nothing", [][]op{{put("a", "s1", "file", 10), clearS("a", "s1")}},
			[]want{{"a", "s1", nil}}},
		{"forgotten streams by prefix", [][]op{{put("a", "ino1-g0", "f", 1), put("a", "ino1-g1", "f", 2),
			put("a", "ino2-g0", "f", 3), put("b", "ino1-g0", "f", 4)}, {prefix("a", "ino1")}},
			[]want{{"a", "ino1-g0", nil}, {"a", "ino1-g1", nil}, {"a", "ino2-g0", map[string]int64{"f": 3}},
				{"b", "ino1-g0", map[string]int64{"f": 4}}}},
		{"a put queued after the prefix deletion survives", [][]op{{put("a", "ino1-g0", "f", 1)},
			{prefix("a", "ino1"), put("a", "ino1-g1", "f", 9)}},
			[]want{{"a", "ino1-g0", nil}, {"a", "ino1-g1", map[string]int64{"f": 9}}}},
		{"registry reset clears the input", [][]op{{put("a", "s1", "f", 1), put("ab", "s1", "f", 2)}, {reset("a")}},
			[]want{{"a", "s1", nil}, {"ab", "s1", map[string]int64{"f": 2}}}},
		{"a put queued after the reset survives", [][]op{{put("a", "s1", "f", 1)}, {reset("a"), put("a", "s2", "f", 5)}},
			[]want{{"a", "s1", nil}, {"a", "s2", map[string]int64{"f": 5}}}},
		{"odd names", [][]op{{put("a", "\x00\xff", "out put é", -1)}},
			[]want{{"a", "\x00\xff", map[string]int64{"out put é": -1}}}},
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
					got, err := db.OutputPositions(w.input, w.stream)
					if err != nil {
						t.Fatal(err)
					}
					if !maps.Equal(got, w.pos) || (got == nil) != (w.pos == nil) {
						t.Fatalf("%s: positions of %s/%q = %v, want %v", when, w.input, w.stream, got, w.pos)
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

// TestOutputPositionsBucketOnlyWhenNeeded: clears of streams that never stored anything (outputs acknowledging in
// step) create no bucket.
func TestOutputPositionsBucketOnlyWhenNeeded(t *testing.T) {
	db := openT(t, tempPath(t), quiet)
	db.PutFile(store.FileRecord{Input: "a", Inode: 1, Path: "/p", Offset: 10})
	flush(t, db)
	for range 100 {
		db.ClearOutputPositions("a", "s1")
	}
	flush(t, db)
	if n, err := db.OutputPositionStreams(""); err != nil || n != 0 {
		t.Fatalf("%d streams stored (err %v)", n, err)
	}
	db.PutOutputPosition("a", "s1", "f", 3)
	flush(t, db)
	if n, err := db.OutputPositionStreams("a"); err != nil || n != 1 {
		t.Fatalf("%d streams of input a stored after a put, want 1 (err %v)", n, err)
	}
}

// TestOutputPositionsInSnapshotAndImport: a snapshot carries the positions; an import replaces every position,
// the outputs' included.
func TestOutputPositionsInSnapshotAndImport(t *testing.T) {
	db := openT(t, tempPath(t), quiet)
	db.PutFile(store.FileRecord{Input: "a", Inode: 1, Path: "/p", Offset: 10})
	db.PutOutputPosition("a", "s1", "f", 30)
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
	if got, _ := restored.OutputPositions("a", "s1"); got["f"] != 30 {
		t.Fatalf("positions in the snapshot: %v", got)
	}

	var export bytes.Buffer
	if err := db.Export(&export); err != nil {
		t.Fatal(err)
	}
	if err := restored.Import(&export); err != nil {
		t.Fatal(err)
	}
	if n, err := restored.OutputPositionStreams(""); err != nil || n != 0 {
		t.Fatalf("%d streams keep output positions after an import (err %v)", n, err)
	}
}

// TestMoveOutputPositionsAtOnce: the moved positions are committed when MoveOutputPositions returns, without a
// flush: the stream under the new key reads them committed, maybe before the writer's next commit.
func TestMoveOutputPositionsAtOnce(t *testing.T) {
	db := openT(t, tempPath(t), quiet)
	db.PutOutputPosition("a", "old", "file", 42)
	flush(t, db)
	if err := db.MoveOutputPositions("a", "old", "new"); err != nil {
		t.Fatal(err)
	}
	got, err := db.OutputPositions("a", "new")
	if err != nil || !maps.Equal(got, map[string]int64{"file": 42}) {
		t.Fatalf("positions under the new key right after the move: %v, %v; want file at 42", got, err)
	}
	if got, err := db.OutputPositions("a", "old"); err != nil || got != nil {
		t.Fatalf("positions left under the old key: %v, %v", got, err)
	}
}
