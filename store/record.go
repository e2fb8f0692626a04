package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// FileRecord is where one file of one input left off. The key is (Input, Device, Inode): two files on different
// filesystems may share an inode number. Across restarts the file source also checks Birth and the fingerprint
// (a reused inode) and accepts a changed Device only at the same Path (a renumbered mount).
type FileRecord struct {
	Input      string
	Inode      uint64
	Device     uint64 // 0 when unknown (records migrated from format 1)
	Path       string
	Offset     int64  // byte offset after the last line done by every output
	Size       int64  // file size when the offset was recorded
	Generation uint32 // how many times the file was seen truncated
	// Fingerprint is the sha256 of the first FingerprintLen bytes of the file; FingerprintLen is 0 when it is not
	// known (records migrated from format 1).
	Fingerprint    [32]byte
	FingerprintLen int
	LastSeen       time.Time
	// Birth is the file's creation time (statx btime); zero when the filesystem does not report it or the record
	// is older than format 3.
	Birth time.Time
}

// MaxFingerprintLen is the most leading bytes a fingerprint covers (the file source's FingerprintSize).
const MaxFingerprintLen = 1024

// CursorRecord is where one API source left off. It holds no secret: the source stores its params as a keyed
// hash and its next link with secret values replaced by placeholders (internal/redact.StripQuery).
type CursorRecord struct {
	Input     string
	Cursor    string // the API's own cursor or next-page link
	LastTime  time.Time
	RecentIDs []string // ids already delivered at LastTime, to skip them when a page is re-read
	Endpoint  string
	// ParamsSum is DB.ParamsSum of the params the cursor was made with: enough to notice that they changed.
	ParamsSum string
}

// Record encodings. The first byte of every value is its encoding version, so a later build can read old records
// and change the encoding without a new format version of the whole file.
const (
	fileRecordV1   byte = 1 // binary, format 2: like v2 with the device after the version byte, no birth time
	fileRecordV2   byte = 2 // binary, see appendFileValue
	cursorRecordV1 byte = 1 // JSON, see cursorJSONV1: params in clear; rewritten as v2 on Open (params.go)
	cursorRecordV2 byte = 2 // JSON, see cursorJSON
)

var errCorrupt = errors.New("corrupt record")

// validInput reports whether name can be part of a files key: non-empty and without the 0x00 separator.
func validInput(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i] == 0 {
			return false
		}
	}
	return true
}

// appendFileKey appends input + 0x00 + device + inode (both 8 bytes big-endian), which sorts records by input,
// then device, then inode.
func appendFileKey(dst []byte, input string, device, inode uint64) []byte {
	dst = append(dst, input...)
	dst = append(dst, 0)
	dst = binary.BigEndian.AppendUint64(dst, device)
	return binary.BigEndian.AppendUint64(dst, inode)
}

func parseFileKey(k []byte) (input string, device, inode uint64, err error) {
	if len(k) < 18 || k[len(k)-17] != 0 {
		return "", 0, 0, fmt.Errorf("file key %q: %w", k, errCorrupt)
	}
	return string(k[:len(k)-17]), binary.BigEndian.Uint64(k[len(k)-16:]), binary.BigEndian.Uint64(k[len(k)-8:]), nil
}

// parseFileKeyV2 parses a format 2 key: input + 0x00 + inode.
func parseFileKeyV2(k []byte) (input string, inode uint64, err error) {
	if len(k) < 10 || k[len(k)-9] != 0 {
		return "", 0, fmt.Errorf("file key %q: %w", k, errCorrupt)
	}
	return string(k[:len(k)-9]), binary.BigEndian.Uint64(k[len(k)-8:]), nil
}

// appendFileValue appends the v2 binary encoding of r without Input, Device and Inode (they are in the key):
//
//	version byte, uvarint len(path), path, varint offset, varint size, uvarint generation,
//	uvarint fingerprint length, 32 bytes fingerprint, last seen, birth
//
// where each time is a varint of seconds since year 1 (0 for the zero time) and a uvarint of nanoseconds.
func appendFileValue(dst []byte, r *FileRecord) []byte {
	dst = append(dst, fileRecordV2)
	dst = binary.AppendUvarint(dst, uint64(len(r.Path)))
	dst = append(dst, r.Path...)
	dst = binary.AppendVarint(dst, r.Offset)
	dst = binary.AppendVarint(dst, r.Size)
	dst = binary.AppendUvarint(dst, uint64(r.Generation))
	dst = binary.AppendUvarint(dst, uint64(r.FingerprintLen))
	dst = append(dst, r.Fingerprint[:]...)
	dst = appendTime(dst, r.LastSeen)
	return appendTime(dst, r.Birth)
}

func appendTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendUvarint(binary.AppendVarint(dst, 0), 0)
	}
	dst = binary.AppendVarint(dst, t.Unix()-zeroUnix)
	return binary.AppendUvarint(dst, uint64(t.Nanosecond()))
}

// decodeFileValue decodes a value written by appendFileValue, or a v1 value of format 2 (whose device is in the
// value and is set in r); it copies everything it keeps, so v may be bbolt memory.
func decodeFileValue(v []byte, r *FileRecord) error {
	if len(v) == 0 {
		return errCorrupt
	}
	if v[0] != fileRecordV1 && v[0] != fileRecordV2 {
		return fmt.Errorf("file record encoding %d: %w", v[0], ErrFormat)
	}
	d := decoder{b: v[1:]}
	if v[0] == fileRecordV1 {
		r.Device = d.uvarint()
	}
	n := d.uvarint()
	r.Path = string(d.bytes(n))
	r.Offset = d.varint()
	r.Size = d.varint()
	gen := d.uvarint()
	fpLen := d.uvarint()
	copy(r.Fingerprint[:], d.bytes(32))
	r.LastSeen = d.time()
	r.Birth = time.Time{}
	if v[0] == fileRecordV2 {
		r.Birth = d.time()
	}
	// Format 2 imports accepted any fingerprint length; the migration resets an impossible one to unknown.
	maxFP := uint64(MaxFingerprintLen)
	if v[0] == fileRecordV1 {
		maxFP = 1<<31 - 1
	}
	if d.err != nil || len(d.b) != 0 || gen > 1<<32-1 || fpLen > maxFP {
		return errCorrupt
	}
	r.Generation = uint32(gen)
	r.FingerprintLen = int(fpLen)
	return nil
}

// decoder reads varints and byte runs; the first short read sets err and later reads return zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return x
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return x
}

// time reads what appendTime wrote.
func (d *decoder) time() time.Time {
	sec, nsec := d.varint(), d.uvarint()
	switch {
	case d.err != nil:
		return time.Time{}
	case nsec >= 1e9:
		d.err = errCorrupt
		return time.Time{}
	case sec == 0 && nsec == 0:
		return time.Time{}
	}
	return time.Unix(sec+zeroUnix, int64(nsec)).UTC()
}

func (d *decoder) bytes(n uint64) []byte {
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errCorrupt
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

// cursorJSON is the v2 payload of a cursor value (after the version byte). Input is the key.
type cursorJSON struct {
	Cursor    string    `json:"cursor,omitempty"`
	LastTime  time.Time `json:"last_time"`
	RecentIDs []string  `json:"recent_ids,omitempty"`
	Endpoint  string    `json:"endpoint,omitempty"`
	ParamsSum string    `json:"params_sum,omitempty"`
}

// cursorJSONV1 is the v1 payload: the params in clear, and a next link that may hold their values.
type cursorJSONV1 struct {
	Cursor    string            `json:"cursor,omitempty"`
	LastTime  time.Time         `json:"last_time"`
	RecentIDs []string          `json:"recent_ids,omitempty"`
	Endpoint  string            `json:"endpoint,omitempty"`
	Params    map[string]string `json:"params,omitempty"`
}

func appendCursorValue(dst []byte, r *CursorRecord) ([]byte, error) {
	p, err := json.Marshal(cursorJSON{
		Cursor: r.Cursor, LastTime: r.LastTime, RecentIDs: r.RecentIDs, Endpoint: r.Endpoint, ParamsSum: r.ParamsSum,
	})
	if err != nil {
		return dst, err
	}
	dst = append(dst, cursorRecordV2)
	return append(dst, p...), nil
}

// decodeCursorValue decodes a cursor value. A v1 value is sealed as it is read (sealV1 with key), so that no
// caller ever sees its params or the secrets in its link.
func decodeCursorValue(input string, v []byte, key *paramsKey) (CursorRecord, error) {
	if len(v) == 0 {
		return CursorRecord{}, errCorrupt
	}
	switch v[0] {
	case cursorRecordV1:
		var c cursorJSONV1
		if err := json.Unmarshal(v[1:], &c); err != nil {
			return CursorRecord{}, fmt.Errorf("%w: %w", errCorrupt, err)
		}
		return sealV1(input, c, key), nil
	case cursorRecordV2:
		var c cursorJSON
		if err := json.Unmarshal(v[1:], &c); err != nil {
			return CursorRecord{}, fmt.Errorf("%w: %w", errCorrupt, err)
		}
		return CursorRecord{
			Input: input, Cursor: c.Cursor, LastTime: utc(c.LastTime), RecentIDs: c.RecentIDs,
			Endpoint: c.Endpoint, ParamsSum: c.ParamsSum,
		}, nil
	}
	return CursorRecord{}, fmt.Errorf("cursor record encoding %d: %w", v[0], ErrFormat)
}

// zeroUnix is time.Time{}.Unix(): times are stored as seconds since then, so the zero time is 0 and no time
// overflows (UnixNano does past 2262).
var zeroUnix = time.Time{}.Unix()

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// unixNano maps the zero time to 0: time.Time{}.UnixNano() is out of range.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
