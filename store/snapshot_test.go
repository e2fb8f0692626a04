package store_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/flickerlog/flicker/store"
)

func TestWriteSnapshotIsACompleteRegistry(t *testing.T) {
	db := openT(t, tempPath(t), store.Options{CommitInterval: time.Hour, NoSync: true})
	for i := range 500 {
		db.PutFile(store.FileRecord{Input: "in", Inode: uint64(i), Offset: int64(i) * 10, Path: "/p"})
	}
	db.PutCursor(store.CursorRecord{Input: "api", Cursor: "c1"})
	flush(t, db)
	if err := db.SetEpoch(2); err != nil {
		t.Fatal(err)
	}
	// Queued, not committed: not in the snapshot.
	db.PutFile(store.FileRecord{Input: "in", Inode: 9999})

	var buf bytes.Buffer
	n, err := db.WriteSnapshot(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) || n == 0 {
		t.Fatalf("WriteSnapshot returned %d for %d bytes", n, buf.Len())
	}
	path := filepath.Join(t.TempDir(), "snapshot.db")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	snap := openT(t, path, store.Options{ReadOnly: true})
	if err := snap.Check(); err != nil {
		t.Fatal(err)
	}
	if snap.Meta() != db.Meta() {
		t.Fatalf("snapshot meta %+v, want %+v", snap.Meta(), db.Meta())
	}
	want, err := db.AllFiles()
	if err != nil {
		t.Fatal(err)
	}
	got, err := snap.AllFiles()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 500 || !reflect.DeepEqual(got, want) {
		t.Fatalf("snapshot has %d files, want the 500 committed ones", len(got))
	}
	if c, ok, err := snap.Cursor("api"); err != nil || !ok || c.Cursor != "c1" {
		t.Fatalf("snapshot cursor = %+v, %v, %v", c, ok, err)
	}
}
