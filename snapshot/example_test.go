package snapshot_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/snapshot"
	"github.com/flickerlog/flicker/store"
)

// A snapshot of a registry, and the registry restored from it elsewhere.
func Example() {
	dir, _ := os.MkdirTemp("", "snapshot")
	defer os.RemoveAll(dir)

	db, err := store.Open(filepath.Join(dir, "live", "registry.db"), store.Options{NoSync: true}, zerolog.Nop())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	db.PutFile(store.FileRecord{Input: "app", Inode: 42, Path: "/var/log/app.log", Offset: 300})
	if err := db.Flush(context.Background()); err != nil {
		fmt.Println(err)
		return
	}

	// The replicator uploads s.NewReader() (s.Size() bytes) with s.Header.Metadata() as object metadata.
	s, err := snapshot.Build(db, snapshot.HeaderInfo{WriterID: "w-1", Hostname: "pod-a"}, dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	var object bytes.Buffer
	if _, err := object.ReadFrom(s.NewReader()); err != nil {
		fmt.Println(err)
		return
	}

	// A new pod verifies the object and installs the registry before opening it.
	h, err := snapshot.Read(&object, filepath.Join(dir, "restored", "registry.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	restored, err := store.Open(filepath.Join(dir, "restored", "registry.db"), store.Options{}, zerolog.Nop())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer restored.Close()
	files, _ := restored.Files("app")
	fmt.Println("seq", h.Seq, "by", h.WriterID, "-", files[0].Path, files[0].Offset)
	// Output:
	// seq 1 by w-1 - /var/log/app.log 300
}
