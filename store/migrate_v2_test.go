package store_test

import (
	"encoding/binary"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/flickerlog/flicker/store"
)

// v2Record is a file record as format 2 stored it: key input + 0x00 + inode, value encoding 1 with the device.
type v2Record struct {
	input          string
	inode, device  uint64
	path           string
	offset, size   int64
	gen            uint64
	fpLen          uint64
	fp             [32]byte
	lastSeen       time.Time
	corruptValue   bool
	expectMigrated bool
}

func (r v2Record) key() []byte {
	return binary.BigEndian.AppendUint64(append([]byte(r.input), 0), r.inode)
}

func (r v2Record) value() []byte {
	if r.corruptValue {
		return []byte{1, 0xff}
	}
	v := binary.AppendUvarint([]byte{1}, r.device)
	v = binary.AppendUvarint(v, uint64(len(r.path)))
	v = append(v, r.path...)
	v = binary.AppendVarint(v, r.offset)
	v = binary.AppendVarint(v, r.size)
	v = binary.AppendUvarint(v, r.gen)
	v = binary.AppendUvarint(v, r.fpLen)
	v = append(v, r.fp[:]...)
	v = binary.AppendVarint(v, r.lastSeen.Unix()-time.Time{}.Unix())
	return binary.AppendUvarint(v, uint64(r.lastSeen.Nanosecond()))
}

var v2Records = []v2Record{
	{input: "app", inode: 11, device: 2049, path: "/var/log/app.log", offset: 1200, size: 1500, gen: 2, fpLen: 1024,
		fp: [32]byte{1, 2, 3}, lastSeen: t0, expectMigrated: true},
	{input: "app", inode: 12, device: 2049, path: "/var/log/app.log.1", offset: 900, size: 900, fpLen: 900,
		fp: [32]byte{4}, lastSeen: t0, expectMigrated: true},
	// Accepted by a format 2 import although no fingerprint covers more than 1 KiB: becomes unknown.
	{input: "nginx", inode: 21, device: 64768, path: "/var/log/nginx/access.log", offset: 77, size: 80,
		fpLen: 2000, fp: [32]byte{9}, lastSeen: t0, expectMigrated: true},
	{input: "nginx", inode: 22, corruptValue: true},
}

// writeV2 builds a format 2 registry: meta (format 2, instance id, epoch 4, seq 9), files, one cursor.
func writeV2(t *testing.T, path string) {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		for k, v := range map[string][]byte{
			"format": be(2), "instance_id": []byte("0123456789abcdef0123456789abcdef"), "epoch": be(4),
			"seq": be(9), "updated": be(uint64(t0.UnixNano())),
		} {
			if err := meta.Put([]byte(k), v); err != nil {
				return err
			}
		}
		files, err := tx.CreateBucket([]byte("files"))
		if err != nil {
			return err
		}
		for _, r := range v2Records {
			if err := files.Put(r.key(), r.value()); err != nil {
				return err
			}
		}
		cursors, err := tx.CreateBucket([]byte("cursors"))
		if err != nil {
			return err
		}
		return cursors.Put([]byte("okta"), append([]byte{1}, `{"cursor":"c1","last_time":"2026-11-21T10:00:00Z"}`...))
	})
	if err := errors.Join(err, bdb.Close()); err != nil {
		t.Fatal(err)
	}
}

func be(x uint64) []byte { return binary.BigEndian.AppendUint64(nil, x) }

// TestMigrateV2 opens a format 2 registry: every readable record keeps its position under the key with its device,
// an impossible fingerprint length becomes unknown, meta and cursors stay as they were.
func TestMigrateV2(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v2.db")
	writeV2(t, path)
	if _, err := store.Open(path, store.Options{ReadOnly: true}, testLog(t)); !errors.Is(err, store.ErrFormat) ||
		!strings.Contains(err.Error(), "format version 2 must be migrated") {
		t.Fatalf("read-only open of format 2 = %v, want ErrFormat asking to migrate", err)
	}
	db := openT(t, path, quiet)
	m := db.Meta()
	if m.FormatVersion != store.FormatVersion || m.InstanceID != "0123456789abcdef0123456789abcdef" || m.Epoch != 4 ||
		m.Seq != 9 {
		t.Fatalf("meta after migration = %+v", m)
	}
	got, err := db.AllFiles()
	if err != nil {
		t.Fatal(err)
	}
	var want []store.FileRecord
	for _, r := range v2Records {
		if !r.expectMigrated {
			continue
		}
		rec := store.FileRecord{Input: r.input, Inode: r.inode, Device: r.device, Path: r.path, Offset: r.offset,
			Size: r.size, Generation: uint32(r.gen), Fingerprint: r.fp, FingerprintLen: int(r.fpLen), LastSeen: t0}
		if r.fpLen > store.MaxFingerprintLen {
			rec.Fingerprint, rec.FingerprintLen = [32]byte{}, 0
		}
		want = append(want, rec)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("migrated files:\n%+v\nwant\n%+v", got, want)
	}
	if c, ok, err := db.Cursor("okta"); err != nil || !ok || c.Cursor != "c1" {
		t.Fatalf("cursor after migration = %+v, %v, %v", c, ok, err)
	}
	// The migrated records are keyed by device: the same inode on another device is another record.
	db.PutFile(store.FileRecord{Input: "app", Inode: 11, Device: 2050, Offset: 5})
	db.DeleteFile("app", 2049, 12)
	flush(t, db)
	if got := fileState(t, db); strings.Join(got, " ") != "app/11=1200 app/11=5 nginx/21=77" {
		t.Fatalf("files after put and delete = %v", got)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	again := openT(t, path, quiet)
	if again.Meta().FormatVersion != store.FormatVersion || again.Meta().Seq != m.Seq+1 {
		t.Fatalf("meta on the second open = %+v", again.Meta())
	}
}

// An export of version 1 (no birth_time) still imports; its records have no birth time.
func TestImportExportVersion1(t *testing.T) {
	db := openT(t, tempPath(t), quiet)
	doc := `{"format":"flicker-registry","version":1,"meta":{"format_version":2,"epoch":2,"seq":5},"files":[` +
		`{"input":"app","inode":7,"device":2049,"path":"/l/app.log","offset":10,"size":20,"generation":1,` +
		`"fingerprint":"` + strings.Repeat("0", 64) + `","fingerprint_len":0,"last_seen":"2026-11-21T10:00:00Z"}]}`
	if err := db.Import(strings.NewReader(doc)); err != nil {
		t.Fatal(err)
	}
	got, err := db.AllFiles()
	if err != nil {
		t.Fatal(err)
	}
	want := []store.FileRecord{{Input: "app", Inode: 7, Device: 2049, Path: "/l/app.log", Offset: 10, Size: 20,
		Generation: 1, LastSeen: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("imported %+v, want %+v", got, want)
	}
}
