package snapshot

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/internal/miniotest"
	"github.com/flickerlog/flicker/store"
)

// After an upgrade to a flicker whose registry format is newer, and a rollback of the deployment, the old build
// finds a latest snapshot whose registry format it cannot read. Restore must refuse it ("upgrade flicker"), as it
// does when the snapshot format is newer: instead it falls back, loudly but silently for the operator, to a
// history slot written before the upgrade, and the replicator then overwrites the newer latest with that
// older state (up to one history ring of events shipped again).
// A latest snapshot written by a newer flicker's registry format (a rollback after an upgrade) is refused, after
// its HEAD alone: restoring the newest history slot this build reads instead would overwrite the newer latest
// with an older state and ship again up to a history ring of events.
func TestRestoreRefusesANewerRegistryFormat(t *testing.T) {
	srv := miniotest.Start(t)
	keys := Keys{Bucket: "newer", Latest: "flicker/registry.json"}
	srv.MakeBucket(t, keys.Bucket)
	c := srv.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	db, err := store.Open(filepath.Join(t.TempDir(), "registry.db"), store.Options{NoSync: true, CommitInterval: time.Hour}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.PutFile(store.FileRecord{Input: "app", Inode: 1, Device: 1, Path: "/var/log/a.log", Offset: 100, Size: 100})
	if err := db.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	put := func(key string, s *Snapshot, head []byte, h Header) {
		payload, err := io.ReadAll(io.NewSectionReader(s.payload, 0, s.Header.PayloadSize))
		if err != nil {
			t.Fatal(err)
		}
		body := append(append([]byte{}, head...), payload...)
		if _, err := c.PutObject(ctx, keys.Bucket, key, bytes.NewReader(body), int64(len(body)),
			minio.PutObjectOptions{UserMetadata: h.Metadata(), DisableMultipart: true}); err != nil {
			t.Fatal(err)
		}
	}
	// History slot: the state before the upgrade (offset 100).
	old, err := Build(db, HeaderInfo{WriterID: "w-old", Hostname: "pod"}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	put(keys.History(0), old, old.head, old.Header)

	// Latest: written by the upgraded build (registry format +1), later state.
	db.PutFile(store.FileRecord{Input: "app", Inode: 1, Device: 1, Path: "/var/log/a.log", Offset: 900, Size: 900})
	if err := db.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	nw, err := Build(db, HeaderInfo{WriterID: "w-new", Hostname: "pod"}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer nw.Close()
	h := nw.Header
	h.StoreFormat = store.FormatVersion + 1
	head, err := encodeHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	meta := h.Metadata()
	if meta[metaStoreFormat] != strconv.Itoa(store.FormatVersion+1) {
		t.Fatal("metadata does not carry the registry format")
	}
	put(keys.Latest, nw, head, h)

	res, err := Restore(ctx, c, RestoreOptions{Keys: keys, HistorySlots: 4, Path: filepath.Join(t.TempDir(), "r.db"),
		Timeout: 10 * time.Second, Logger: zerolog.Nop()})
	if !errors.Is(err, ErrNewerFormat) {
		t.Fatalf("restore of a latest with a newer registry format: %+v, err %v; want ErrNewerFormat "+
			"(installed from %s %s seq %d, fallback %t)", res.From, err, res.From, res.Key, res.Header.Seq, res.Fallback)
	}
}
