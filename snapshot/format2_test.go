package snapshot_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"

	"github.com/flickerlog/flicker/snapshot"
	"github.com/flickerlog/flicker/store"
)

// format2Registry is a registry as flicker wrote it before format 3: file keys without the device, the device in
// an encoding 1 value. It holds one file record: input "app", inode 11, device 2049, offset 1200.
func format2Registry(t *testing.T, instance string, epoch, seq uint64) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "v2.db")
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	be := func(x uint64) []byte { return binary.BigEndian.AppendUint64(nil, x) }
	err = bdb.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		for k, v := range map[string][]byte{"format": be(2), "instance_id": []byte(instance), "epoch": be(epoch),
			"seq": be(seq)} {
			if err := meta.Put([]byte(k), v); err != nil {
				return err
			}
		}
		if _, err := tx.CreateBucket([]byte("cursors")); err != nil {
			return err
		}
		files, err := tx.CreateBucket([]byte("files"))
		if err != nil {
			return err
		}
		v := binary.AppendUvarint([]byte{1}, 2049) // encoding 1, device
		v = binary.AppendUvarint(v, uint64(len("/var/log/app.log")))
		v = append(v, "/var/log/app.log"...)
		v = binary.AppendVarint(v, 1200) // offset
		v = binary.AppendVarint(v, 1500) // size
		v = binary.AppendUvarint(v, 0)   // generation
		v = binary.AppendUvarint(v, 1024)
		v = append(v, make([]byte, 32)...)
		v = binary.AppendUvarint(binary.AppendVarint(v, 0), 0) // last seen: zero
		return files.Put(binary.BigEndian.AppendUint64([]byte("app\x00"), 11), v)
	})
	if cerr := bdb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A snapshot written before the upgrade to registry format 3 restores, migrated, with its positions.
func TestReadMigratesRegistryFormat2(t *testing.T) {
	good, _ := writeT(t, newRegistry(t, 1))
	o := splitObject(t, good)
	const instance = "0123456789abcdef0123456789abcdef"
	o = withPayload(t, o, format2Registry(t, instance, 3, 40))
	o.header["store_format"], o.header["instance_id"], o.header["epoch"], o.header["seq"] = 2, instance, 3, 40
	dst := filepath.Join(t.TempDir(), "registry.db")
	h, err := snapshot.Read(bytes.NewReader(o.bytes(t)), dst)
	if err != nil {
		t.Fatal(err)
	}
	if h.StoreFormat != 2 || h.Seq != 40 {
		t.Fatalf("header %+v", h)
	}
	db, err := store.Open(dst, store.Options{ReadOnly: true}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if m := db.Meta(); m.FormatVersion != store.FormatVersion || m.Seq != 40 || m.Epoch != 3 || m.InstanceID != instance {
		t.Fatalf("restored meta %+v", m)
	}
	recs, err := db.AllFiles()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Inode != 11 || recs[0].Device != 2049 || recs[0].Offset != 1200 {
		t.Fatalf("restored files %+v", recs)
	}
}
