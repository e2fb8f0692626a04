package snapshot

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/store"
)

// seedRegistry returns the bytes of a small registry file with file records and a cursor, and its meta.
func seedRegistry(f *testing.F) ([]byte, store.Meta) {
	path := filepath.Join(f.TempDir(), "registry.db")
	db, err := store.Open(path, store.Options{NoSync: true}, zerolog.Nop())
	if err != nil {
		f.Fatal(err)
	}
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 123456789, time.UTC)
	for i := range 20 {
		db.PutFile(store.FileRecord{Input: "app", Inode: uint64(1000 + i), Device: 2049, Offset: int64(i) << 12,
			Path: "/var/log/app/app.log", FingerprintLen: 1024, Fingerprint: sha256.Sum256([]byte{byte(i)}),
			LastSeen: t0})
	}
	db.PutCursor(store.CursorRecord{Input: "okta", Cursor: "https://example.okta.com/next?after=42",
		LastTime: t0, RecentIDs: []string{"a", "b"}})
	if err := db.SetEpoch(3); err != nil {
		f.Fatal(err)
	}
	meta := db.Meta()
	if err := db.Close(); err != nil {
		f.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	return raw, meta
}

// snapshotOf wraps raw registry bytes in a snapshot whose header and checksums are right, so the fuzzer's bytes
// reach decompression and the registry checks.
func snapshotOf(t testing.TB, raw []byte, meta store.Meta, storeFormat uint64) []byte {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(encoderWindow))
	if err != nil {
		t.Fatal(err)
	}
	payload := enc.EncodeAll(raw, nil)
	h := Header{FormatVersion: FormatVersion, Epoch: meta.Epoch, Seq: meta.Seq, Created: time.Unix(1795255200, 0),
		WriterID: "w-1", Hostname: "pod-a", InstanceID: meta.InstanceID, StoreFormat: storeFormat,
		RawSize: int64(len(raw)), RawSHA256: sha256.Sum256(raw), PayloadSize: int64(len(payload)),
		PayloadSHA256: sha256.Sum256(payload)}
	head, err := encodeHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	return append(head, payload...)
}

// FuzzReadRegistry: a snapshot whose checksums are right but whose registry is damaged (a corrupt or hostile
// object re-checksummed) is installed only when it opens as a registry, passes bbolt's check and agrees with its
// header; anything else is ErrCorrupt, and leaves neither the destination nor a temp file behind.
func FuzzReadRegistry(f *testing.F) {
	raw, meta := seedRegistry(f)
	f.Add(raw, false)
	f.Add(raw, true) // a registry the header says is of an older format: migrated after install
	f.Add(raw[:len(raw)/2], false)
	damaged := bytes.Clone(raw)
	for i := 4096; i < len(damaged); i += 4096 {
		damaged[i+20] ^= 0xff // each data page's first element
	}
	f.Add(damaged, false)
	f.Add([]byte("not a registry"), false)
	f.Fuzz(func(t *testing.T, raw []byte, older bool) {
		if len(raw) == 0 {
			return // a header with raw size 0 is refused before the payload: FuzzReadHeader covers it
		}
		format := uint64(store.FormatVersion)
		if older {
			format = 2
		}
		dir := t.TempDir()
		dst := filepath.Join(dir, "registry.db")
		h, err := Read(bytes.NewReader(snapshotOf(t, raw, meta, format)), dst)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("a damaged registry is not ErrCorrupt: %v", err)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Fatalf("a failed read left %s behind", left[0].Name())
			}
			return
		}
		db, err := store.Open(dst, store.Options{ReadOnly: true}, zerolog.Nop())
		if err != nil {
			t.Fatalf("installed registry does not open: %v", err)
		}
		defer db.Close()
		if err := db.Check(); err != nil {
			t.Fatalf("installed registry fails the check: %v", err)
		}
		if m := db.Meta(); m.Epoch != h.Epoch || m.Seq != h.Seq || m.InstanceID != h.InstanceID {
			t.Fatalf("installed registry has meta %+v, header %+v", m, h)
		}
	})
}

// FuzzDecompress: whatever the payload, decompress writes at most the header's raw size, and succeeds exactly when
// the payload decodes, within the decoder's window, to the header's raw size and checksum.
func FuzzDecompress(f *testing.F) {
	raw, _ := seedRegistry(f)
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(encoderWindow))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc.EncodeAll(raw, nil), uint16(0))
	f.Add(enc.EncodeAll([]byte("short registry"), nil), uint16(0))
	f.Add(append(enc.EncodeAll([]byte("a"), nil), enc.EncodeAll([]byte("b"), nil)...), uint16(0))
	f.Add(enc.EncodeAll(raw, nil), uint16(100)) // the header claims less than the payload holds
	// A skippable frame, then a frame header asking for a 2 GiB window.
	f.Add([]byte{0x50, 0x2a, 0x4d, 0x18, 1, 0, 0, 0, 'x', 0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8}, uint16(0))
	f.Add([]byte{}, uint16(1))
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x00, 0x01, 0x00, 0x00}, uint16(0)) // a frame of nothing
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(decoderWindow),
		zstd.WithDecoderMaxMemory(decoderWindow))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(dec.Close)
	f.Fuzz(func(t *testing.T, payload []byte, claim uint16) {
		want, wantErr := dec.DecodeAll(payload, nil)
		h := Header{StoreFormat: store.FormatVersion, RawSize: int64(len(want)), RawSHA256: sha256.Sum256(want),
			PayloadSize: int64(len(payload)), PayloadSHA256: sha256.Sum256(payload)}
		if claim != 0 {
			h.RawSize = int64(claim) // a header that may disagree with the payload
		}
		if h.validate() != nil {
			return // ReadHeader refuses it before the payload (an empty one, say)
		}
		var out bytes.Buffer
		err := decompress(bytes.NewReader(payload), h, &out)
		if int64(out.Len()) > h.RawSize {
			t.Fatalf("wrote %d bytes, the header says %d", out.Len(), h.RawSize)
		}
		ok := wantErr == nil && int64(len(want)) == h.RawSize
		switch {
		case ok && err != nil:
			t.Fatalf("payload decoding to %d bytes refused: %v", len(want), err)
		case !ok && err == nil:
			t.Fatalf("payload accepted; decoding it gives %d bytes, %v; header says %d", len(want), wantErr,
				h.RawSize)
		case err != nil && !errors.Is(err, ErrCorrupt):
			t.Fatalf("a bad payload is not ErrCorrupt: %v", err)
		case ok && !bytes.Equal(out.Bytes(), want):
			t.Fatalf("decompressed bytes differ from the payload's")
		}
	})
}
