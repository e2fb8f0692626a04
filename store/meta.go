package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// FormatVersion is the registry layout this build writes. Older layouts are migrated on Open (migrate.go).
const FormatVersion = 3

var (
	bucketMeta    = []byte("meta")
	bucketFiles   = []byte("files")
	bucketCursors = []byte("cursors")

	keyFormat     = []byte("format")
	keyInstanceID = []byte("instance_id")
	keyEpoch      = []byte("epoch")
	keySeq        = []byte("seq")
	keyUpdated    = []byte("updated") // Unix ns of the last commit
)

// Meta describes the registry as of its last commit.
type Meta struct {
	FormatVersion uint64
	// InstanceID is random, set when the registry is created, and names this registry's snapshots.
	InstanceID string
	// Epoch increases on every lease takeover, promote and fallback (SetEpoch).
	Epoch uint64
	// Seq increases by one on every commit and never goes back, across reopens and imports.
	Seq     uint64
	Updated time.Time
}

func newInstanceID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// createLayout creates the buckets of the current format in tx with a new instance id, epoch 0 and the given seq.
func createLayout(tx *bolt.Tx, seq uint64, now time.Time) (Meta, error) {
	for _, name := range [][]byte{bucketMeta, bucketFiles, bucketCursors} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return Meta{}, fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	m := Meta{FormatVersion: FormatVersion, InstanceID: newInstanceID(), Seq: seq, Updated: now.UTC()}
	return m, putMeta(tx.Bucket(bucketMeta), m)
}

func putMeta(b *bolt.Bucket, m Meta) error {
	puts := []struct {
		k, v []byte
	}{
		{keyFormat, be64(m.FormatVersion)},
		{keyInstanceID, []byte(m.InstanceID)},
		{keyEpoch, be64(m.Epoch)},
		{keySeq, be64(m.Seq)},
		{keyUpdated, be64(uint64(unixNano(m.Updated)))},
	}
	for _, p := range puts {
		if err := b.Put(p.k, p.v); err != nil {
			return fmt.Errorf("put meta %s: %w", p.k, err)
		}
	}
	return nil
}

// readMeta reads the meta bucket; a missing number reads as 0.
func readMeta(b *bolt.Bucket) (Meta, error) {
	var m Meta
	for _, f := range []struct {
		k []byte
		v *uint64
	}{{keyFormat, &m.FormatVersion}, {keyEpoch, &m.Epoch}, {keySeq, &m.Seq}} {
		v := b.Get(f.k)
		if v == nil {
			continue
		}
		if len(v) != 8 {
			return Meta{}, fmt.Errorf("meta %s has %d bytes, want 8: %w", f.k, len(v), errCorrupt)
		}
		*f.v = binary.BigEndian.Uint64(v)
	}
	m.InstanceID = string(b.Get(keyInstanceID)) // string() copies out of bbolt memory
	if v := b.Get(keyUpdated); len(v) == 8 {
		m.Updated = fromUnixNano(int64(binary.BigEndian.Uint64(v)))
	}
	return m, nil
}

func be64(x uint64) []byte { return binary.BigEndian.AppendUint64(nil, x) }
