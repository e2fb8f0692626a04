package snapshot_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/snapshot"
	"github.com/flickerlog/flicker/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var created = time.Date(2026, 11, 21, 10, 0, 0, 123456789, time.UTC)

var info = snapshot.HeaderInfo{WriterID: "w-1", Hostname: "pod-a", Created: created}

// fileRecord looks like a real record: a path, sizes, and an incompressible fingerprint.
func fileRecord(i int) store.FileRecord {
	return store.FileRecord{
		Input: "app", Inode: uint64(i) + 1000, Device: 2049, Path: fmt.Sprintf("/var/log/app/service-%06d.log", i),
		Offset: int64(i) * 97, Size: int64(i)*97 + 512, Generation: uint32(i % 3),
		Fingerprint: sha256.Sum256([]byte{byte(i), byte(i >> 8), byte(i >> 16)}), FingerprintLen: 1024,
		LastSeen: created.Add(time.Duration(i) * time.Second),
	}
}

// newRegistry returns an open registry with files records and one cursor committed, at epoch 3.
func newRegistry(tb testing.TB, files int) *store.DB {
	tb.Helper()
	db, err := store.Open(filepath.Join(tb.TempDir(), "registry.db"),
		store.Options{NoSync: true, CommitInterval: time.Hour}, zerolog.Nop())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	for i := range files {
		db.PutFile(fileRecord(i))
	}
	db.PutCursor(store.CursorRecord{Input: "okta", Cursor: "https://example.okta.com/next?after=42",
		LastTime: created, RecentIDs: []string{"a", "b"}})
	flushT(tb, db)
	if err := db.SetEpoch(3); err != nil {
		tb.Fatal(err)
	}
	return db
}

func flushT(tb testing.TB, db *store.DB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.Flush(ctx); err != nil {
		tb.Fatal(err)
	}
}

// writeT returns a whole snapshot object of db.
func writeT(tb testing.TB, db snapshot.Source) ([]byte, snapshot.Header) {
	tb.Helper()
	var buf bytes.Buffer
	h, err := snapshot.Write(&buf, db, info, tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes(), h
}

// object is a snapshot split along the documented layout, so tests can forge variants of it.
type object struct {
	version uint32
	header  map[string]any // the JSON header, numbers as json.Number
	payload []byte
}

func splitObject(t *testing.T, b []byte) object {
	t.Helper()
	n := binary.BigEndian.Uint32(b[12:16])
	o := object{version: binary.BigEndian.Uint32(b[8:12]), payload: b[20+n:]}
	dec := json.NewDecoder(bytes.NewReader(b[16 : 16+n]))
	dec.UseNumber()
	if err := dec.Decode(&o.header); err != nil {
		t.Fatal(err)
	}
	return o
}

// bytes assembles the object with a correct header CRC.
func (o object) bytes(t *testing.T) []byte {
	t.Helper()
	js, err := json.Marshal(o.header)
	if err != nil {
		t.Fatal(err)
	}
	b := []byte(snapshot.Magic)
	b = binary.BigEndian.AppendUint32(b, o.version)
	b = binary.BigEndian.AppendUint32(b, uint32(len(js)))
	b = append(b, js...)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(js, crc32.MakeTable(crc32.Castagnoli)))
	return append(b, o.payload...)
}

// clone copies the header map, so table cases do not share it.
func (o object) clone() object {
	h := make(map[string]any, len(o.header))
	for k, v := range o.header {
		h[k] = v
	}
	o.header = h
	o.payload = bytes.Clone(o.payload)
	return o
}
