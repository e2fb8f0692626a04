package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/store"
)

// A source records its position after every acknowledged event; the writer commits the latest ones together.
func Example() {
	dir, _ := os.MkdirTemp("", "registry")
	defer os.RemoveAll(dir)

	db, err := store.Open(filepath.Join(dir, "registry.db"), store.Options{}, zerolog.Nop())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()

	for offset := int64(100); offset <= 300; offset += 100 {
		db.PutFile(store.FileRecord{Input: "app", Inode: 42, Path: "/var/log/app.log", Offset: offset})
	}
	if err := db.Flush(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	files, _ := db.Files("app")
	fmt.Println(files[0].Path, files[0].Offset, "seq", db.Meta().Seq)

	// A second open of the same file, here or in another process, fails fast.
	_, err = store.Open(db.Path(), store.Options{LockTimeout: 10 * time.Millisecond}, zerolog.Nop())
	fmt.Println(err != nil)
	// Output:
	// /var/log/app.log 300 seq 1
	// true
}
