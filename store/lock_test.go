package store_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/store"
)

func TestSecondOpenIsLocked(t *testing.T) {
	tests := []struct {
		name   string
		holder store.Options
		second store.Options
	}{
		{"read-write after read-write", quiet, quiet},
		{"read-only while a writer runs", quiet, store.Options{ReadOnly: true, LockTimeout: 50 * time.Millisecond}},
		{"read-write while a reader has it", store.Options{ReadOnly: true}, quiet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tempPath(t)
			if tt.holder.ReadOnly {
				if err := openT(t, path, quiet).Close(); err != nil {
					t.Fatal(err)
				}
			}
			holder := openT(t, path, tt.holder)
			_, err := store.Open(path, tt.second, testLog(t))
			if !errors.Is(err, store.ErrLocked) {
				t.Fatalf("second open = %v, want ErrLocked", err)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "stop it or use its copy") {
				t.Fatalf("error does not name the path and the way out: %v", err)
			}
			if err := holder.Close(); err != nil {
				t.Fatal(err)
			}
			openT(t, path, tt.second) // free again
		})
	}
}
