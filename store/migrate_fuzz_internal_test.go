package store

import (
	"encoding/binary"
	"strings"
	"testing"
)

// FuzzDecodeOldRecord feeds the migration's readers of format 1 (JSON) and format 2 (binary, device in the
// value) records any key and value an old registry file may hold: none panics, a format 1 record read has an
// input name and no negative offset, and what either reads, once migrated, is written in today's format and read
// back the same, key and value.
func FuzzDecodeOldRecord(f *testing.F) {
	f.Add(uint8(1), []byte("app\x00/var/log/app.log"), []byte(`{"path":"/var/log/app.log","offset":1200,"inode":11}`))
	f.Add(uint8(1), []byte("app\x00/var/log/a.log"), []byte(`{"offset":-1,"inode":3}`))
	f.Add(uint8(1), []byte("\x00/x"), []byte(`{}`))
	v := binary.AppendUvarint([]byte{fileRecordV1}, 2049) // device
	v = binary.AppendUvarint(v, uint64(len("/var/log/app.log")))
	v = append(v, "/var/log/app.log"...)
	v = binary.AppendVarint(v, 1200)   // offset
	v = binary.AppendVarint(v, 1500)   // size
	v = binary.AppendUvarint(v, 2)     // generation
	v = binary.AppendUvarint(v, 2000)  // fingerprint length, past what a fingerprint covers
	v = append(v, make([]byte, 32)...) // fingerprint
	v = binary.AppendVarint(v, 63_900_000_000)
	v = binary.AppendUvarint(v, 5)
	f.Add(uint8(2), binary.BigEndian.AppendUint64([]byte("app\x00"), 11), v)
	f.Add(uint8(2), binary.BigEndian.AppendUint64([]byte("app\x00"), 11), appendFileValue(nil, &FileRecord{}))
	f.Fuzz(func(t *testing.T, format uint8, k, v []byte) {
		var (
			r   FileRecord
			err error
		)
		if format%2 == 1 {
			if r, err = decodeV1(k, v); err == nil && (r.Input == "" || strings.IndexByte(r.Input, 0) >= 0 || r.Offset < 0) {
				t.Fatalf("format 1 record %+v read from %q, %q: no input, or a negative offset", r, k, v)
			}
		} else {
			r, err = decodeV2(k, v)
		}
		if err != nil {
			return
		}
		if r.FingerprintLen > MaxFingerprintLen { // as migrateV2 does
			r.FingerprintLen, r.Fingerprint = 0, [32]byte{}
		}
		key := appendFileKey(nil, r.Input, r.Device, r.Inode)
		var again FileRecord
		if again.Input, again.Device, again.Inode, err = parseFileKey(key); err != nil {
			t.Fatalf("key of the migrated %+v: %v", r, err)
		}
		if err := decodeFileValue(appendFileValue(nil, &r), &again); err != nil || again != r {
			t.Fatalf("the migrated %+v reads back as %+v, %v", r, again, err)
		}
	})
}
