package store_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/flickerlog/flicker/store"
)

// TestOpenNotRegistry: a file that is not a flicker registry fails with ErrNotRegistry and a message that says
// so (an empty file read-only used to fail with bbolt's "bad file descriptor"), and is left as it was.
func TestOpenNotRegistry(t *testing.T) {
	dir := t.TempDir()
	foreign := filepath.Join(dir, "foreign.db")
	bdb, err := bolt.Open(foreign, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := bdb.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("users")); return err }); err != nil {
		t.Fatal(err)
	}
	if err := bdb.Close(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		content  []byte // nil: foreign, the bbolt file above
		readOnly bool
		want     string
	}{
		{"empty read-only", []byte{}, true, "the file is empty: not a flicker registry"},
		{"text read-only", []byte("hello\n"), true, "not a bbolt file"},
		{"text read-write", []byte("hello\n"), false, "not a bbolt file"},
		{"another program's bbolt file", nil, true, `another program (buckets ["users"]): not a flicker registry`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := foreign
			if tt.content != nil {
				path = filepath.Join(t.TempDir(), "reg.db")
				if err := os.WriteFile(path, tt.content, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			db, err := store.Open(path, store.Options{ReadOnly: tt.readOnly}, testLog(t))
			if err == nil {
				db.Close()
				t.Fatal("open succeeded")
			}
			if !errors.Is(err, store.ErrNotRegistry) || !errors.Is(err, store.ErrFormat) ||
				!strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "bad file descriptor") {
				t.Fatalf("open = %v, want ErrNotRegistry (and ErrFormat) saying %q", err, tt.want)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(after) != string(before) {
				t.Fatalf("the file was modified: %d bytes before, %d after", len(before), len(after))
			}
		})
	}
}
