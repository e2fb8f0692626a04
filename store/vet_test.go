package store_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/store"
)

// A truncated registry file is refused with ErrDamaged, read-only or not, instead of faulting in bbolt's memory
// map (SIGBUS, which no recover stops).
func TestOpenTruncatedIsDamaged(t *testing.T) {
	reg := filepath.Join(t.TempDir(), "registry.db")
	db, err := store.Open(reg, store.Options{NoSync: true}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		db.PutFile(store.FileRecord{Input: "app", Inode: uint64(i + 1), Path: "/var/log/app.log", Offset: int64(i)})
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int64{info.Size() / 2, 3*4096 + 100} {
		if err := os.Truncate(reg, size); err != nil {
			t.Fatal(err)
		}
		for _, readOnly := range []bool{true, false} {
			db, err := store.Open(reg, store.Options{ReadOnly: readOnly}, zerolog.Nop())
			if !errors.Is(err, store.ErrDamaged) {
				if db != nil {
					_ = db.Close()
				}
				t.Fatalf("open of a registry truncated to %d bytes (read-only %t): %v, want ErrDamaged", size,
					readOnly, err)
			}
		}
	}
}
