package snapshot_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/klauspost/compress/zstd"
	bolt "go.etcd.io/bbolt"

	"github.com/flickerlog/flicker/snapshot"
	"github.com/flickerlog/flicker/store"
)

// withPayload replaces the payload by raw compressed, with a header that describes it correctly.
func withPayload(t *testing.T, o object, raw []byte) object {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	o.payload = enc.EncodeAll(raw, nil)
	rawSum, paySum := sha256.Sum256(raw), sha256.Sum256(o.payload)
	o.header["raw_size"] = len(raw)
	o.header["raw_sha256"] = hex.EncodeToString(rawSum[:])
	o.header["payload_size"] = len(o.payload)
	o.header["payload_sha256"] = hex.EncodeToString(paySum[:])
	return o
}

// foreignBolt is a healthy bbolt file that is not a flicker registry.
func foreignBolt(t *testing.T) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "other.db")
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("widgets"))
		if err != nil {
			return err
		}
		return b.Put([]byte("k"), []byte("v"))
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

func TestReadRefuses(t *testing.T) {
	db := newRegistry(t, 100)
	good, h := writeT(t, db)
	base := splitObject(t, good)
	var raw bytes.Buffer
	if _, err := db.WriteSnapshot(&raw); err != nil {
		t.Fatal(err)
	}
	forge := func(change func(o *object)) []byte {
		o := base.clone()
		change(&o)
		return o.bytes(t)
	}
	flipped := bytes.Clone(good)
	flipped[len(good)-int(h.PayloadSize)/2] ^= 0x55

	tests := []struct {
		name   string
		obj    []byte
		want   error
		reason string // in the message
	}{
		{"flipped payload byte", flipped, snapshot.ErrCorrupt, "payload sha256"},
		{"truncated payload", good[:len(good)-100], snapshot.ErrCorrupt, "truncated"},
		{"truncated header", good[:30], snapshot.ErrCorrupt, "truncated"},
		{"truncated magic", good[:5], snapshot.ErrCorrupt, "truncated"},
		{"bytes after the payload", append(bytes.Clone(good), 0), snapshot.ErrCorrupt, "after the payload"},
		{"wrong magic", append([]byte("XLICKSNP"), good[8:]...), snapshot.ErrNotSnapshot, "XLICKSNP"},
		{"json document", []byte(`{"version":1,"files":[{"path":"/var/log/a.log","offset":12}]}`),
			snapshot.ErrNotSnapshot, `"{\"versio"`},
		{"short foreign object", []byte("hi"), snapshot.ErrNotSnapshot, "hi"},
		{"empty object", nil, snapshot.ErrNotSnapshot, "empty"},
		{"newer snapshot format", forge(func(o *object) { o.version = 2 }), snapshot.ErrNewerFormat,
			"version 2 is newer than this flicker reads (1)"},
		{"format 0", forge(func(o *object) { o.version = 0 }), snapshot.ErrCorrupt, "version 0"},
		{"older registry format", forge(func(o *object) { o.header["store_format"] = 1 }), snapshot.ErrCorrupt,
			"registry format version 1"},
		{"newer registry format", forge(func(o *object) { o.header["store_format"] = store.FormatVersion + 1 }),
			snapshot.ErrNewerFormat, fmt.Sprintf("registry format version %d is newer than this flicker reads (%d)",
				store.FormatVersion+1, store.FormatVersion)},
		{"header crc", func() []byte {
			b := bytes.Clone(good)
			i := bytes.Index(b, []byte(`"pod-a"`))
			b[i+1] = 'P'
			return b
		}(), snapshot.ErrCorrupt, "crc32c"},
		{"header not json", func() []byte {
			o := base.clone()
			b := o.bytes(t)
			b[16] = '['
			return fixCRC(b)
		}(), snapshot.ErrCorrupt, "decode header"},
		{"payload sha in header", forge(func(o *object) {
			o.header["payload_sha256"] = strings.Repeat("ab", 32)
		}), snapshot.ErrCorrupt, "payload sha256"},
		{"raw size smaller than payload's", forge(func(o *object) { o.header["raw_size"] = h.RawSize - 1 }),
			snapshot.ErrCorrupt, "decompress"},
		{"raw size larger than payload's", forge(func(o *object) { o.header["raw_size"] = h.RawSize + 1 }),
			snapshot.ErrCorrupt, "decompressed to"},
		{"raw sha in header", forge(func(o *object) { o.header["raw_sha256"] = strings.Repeat("cd", 32) }),
			snapshot.ErrCorrupt, "registry sha256"},
		{"payload not zstd", forge(func(o *object) {
			o.payload = bytes.Repeat([]byte("plain"), 100)
			sum := sha256.Sum256(o.payload)
			o.header["payload_size"] = len(o.payload)
			o.header["payload_sha256"] = hex.EncodeToString(sum[:])
		}), snapshot.ErrCorrupt, "decompress"},
		{"payload asks for a 64 MiB window", forge(func(o *object) {
			enc, err := zstd.NewWriter(nil, zstd.WithSingleSegment(false))
			if err != nil {
				t.Fatal(err)
			}
			o.payload = enc.EncodeAll(raw.Bytes(), nil)
			// Frame header: 4 bytes magic, the descriptor (bit 5: single segment, no window byte), the window
			// descriptor: exponent 16 (2^(10+16) = 64 MiB), mantissa 0.
			if o.payload[4]&0x20 != 0 {
				t.Fatalf("frame descriptor %08b: single segment, no window to forge", o.payload[4])
			}
			o.payload[5] = 16 << 3
			sum := sha256.Sum256(o.payload)
			o.header["payload_size"] = len(o.payload)
			o.header["payload_sha256"] = hex.EncodeToString(sum[:])
		}), snapshot.ErrCorrupt, "window"},
		{"payload is not bbolt", forge(func(o *object) {
			*o = withPayload(t, *o, bytes.Repeat([]byte("this is not a bbolt file\n"), 1000))
		}), snapshot.ErrCorrupt, "not a healthy registry"},
		{"payload is another program's bbolt", forge(func(o *object) { *o = withPayload(t, *o, foreignBolt(t)) }),
			snapshot.ErrCorrupt, "not a flicker registry"},
		{"header seq differs from the registry", forge(func(o *object) {
			o.header["seq"] = db.Meta().Seq + 1
		}), snapshot.ErrCorrupt, "seq"},
		{"header seq behind the registry", forge(func(o *object) {
			o.header["seq"] = db.Meta().Seq - 1
		}), snapshot.ErrCorrupt, "seq"},
		{"header epoch differs", forge(func(o *object) { o.header["epoch"] = 4 }), snapshot.ErrCorrupt, "epoch"},
		{"header instance differs", forge(func(o *object) { o.header["instance_id"] = "someone-else" }),
			snapshot.ErrCorrupt, "instance"},
		{"sizes missing", forge(func(o *object) { delete(o.header, "payload_size") }), snapshot.ErrCorrupt,
			"payload size 0"},
		{"header length too large", func() []byte {
			b := bytes.Clone(good)
			copy(b[12:16], []byte{0x7f, 0xff, 0xff, 0xff})
			return b
		}(), snapshot.ErrCorrupt, "header length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, existing := range []bool{false, true} {
				dir := t.TempDir()
				dst := filepath.Join(dir, "registry.db")
				if existing {
					if err := os.WriteFile(dst, []byte("the previous registry"), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				_, err := snapshot.Read(bytes.NewReader(tt.obj), dst)
				if !errors.Is(err, tt.want) {
					t.Fatalf("error %v, want %v", err, tt.want)
				}
				if !strings.Contains(err.Error(), tt.reason) {
					t.Fatalf("error %q does not say %q", err, tt.reason)
				}
				assertUntouched(t, dir, existing)
				if existing {
					t.Log(err)
				}
			}
		})
	}
}

// fixCRC recomputes the header CRC of an object whose header bytes were edited in place.
func fixCRC(b []byte) []byte {
	n := binary.BigEndian.Uint32(b[12:16])
	binary.BigEndian.PutUint32(b[16+n:], crc32.Checksum(b[16:16+n], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// assertUntouched checks dir holds only the previous registry (or nothing): no partial file, no temp file.
func assertUntouched(t *testing.T, dir string, existing bool) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !existing {
		if len(entries) != 0 {
			t.Fatalf("a failed Read left %v", entries)
		}
		return
	}
	if len(entries) != 1 {
		t.Fatalf("a failed Read left %v", entries)
	}
	b, err := os.ReadFile(filepath.Join(dir, "registry.db"))
	if err != nil || string(b) != "the previous registry" {
		t.Fatalf("the previous registry was changed: %q, %v", b, err)
	}
}

// A reader's own error (the network) is not corruption: the caller retries instead of falling back.
func TestReadErrorIsNotCorruption(t *testing.T) {
	db := newRegistry(t, 100)
	good, _ := writeT(t, db)
	errNet := errors.New("connection reset by peer")
	for _, at := range []int{0, 4, 30, len(good) / 2, len(good)} {
		dir := t.TempDir()
		r := io.MultiReader(bytes.NewReader(good[:at]), iotest.ErrReader(errNet))
		_, err := snapshot.Read(r, filepath.Join(dir, "registry.db"))
		if !errors.Is(err, errNet) || errors.Is(err, snapshot.ErrCorrupt) || errors.Is(err, snapshot.ErrNotSnapshot) {
			t.Errorf("read error after %d bytes: %v, want only the reader's error", at, err)
		}
		assertUntouched(t, dir, false)
	}
}

// Read handles readers that return little at a time (HTTP bodies do).
func TestReadOneByteReader(t *testing.T) {
	db := newRegistry(t, 300)
	good, h := writeT(t, db)
	got, err := snapshot.Read(iotest.OneByteReader(bytes.NewReader(good)), filepath.Join(t.TempDir(), "r.db"))
	if err != nil || got.Seq != h.Seq {
		t.Fatalf("Read = %+v, %v", got, err)
	}
}

// Read replaces an existing file atomically.
func TestReadReplacesExisting(t *testing.T) {
	db := newRegistry(t, 10)
	good, h := writeT(t, db)
	dst := filepath.Join(t.TempDir(), "registry.db")
	if err := os.WriteFile(dst, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := snapshot.Read(bytes.NewReader(good), dst); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(dst)
	if err != nil || int64(len(b)) != h.RawSize || sha256.Sum256(b) != h.RawSHA256 {
		t.Fatalf("restored file has %d bytes (%v), want the %d-byte registry", len(b), err, h.RawSize)
	}
}

func TestReadHeaderJSONIsDocumented(t *testing.T) {
	db := newRegistry(t, 10)
	good, _ := writeT(t, db)
	o := splitObject(t, good)
	want := []string{"epoch", "seq", "created", "writer_id", "hostname", "instance_id", "store_format", "raw_size",
		"raw_sha256", "payload_size", "payload_sha256"}
	if len(o.header) != len(want) {
		js, _ := json.Marshal(o.header)
		t.Errorf("header has %d fields, doc.go lists %d: %s", len(o.header), len(want), js)
	}
	for _, k := range want {
		if _, ok := o.header[k]; !ok {
			t.Errorf("header has no %q", k)
		}
	}
	// Readers ignore unknown fields: a later version 1 writer may add some.
	o.header["compression_level"] = 3
	if _, err := snapshot.Read(bytes.NewReader(o.bytes(t)), filepath.Join(t.TempDir(), "r.db")); err != nil {
		t.Fatalf("unknown header field: %v", err)
	}
}
