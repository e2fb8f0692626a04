package snapshot

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"
)

// Magic opens every snapshot object. It names the kind of object only; the layout version follows it.
const Magic = "FLICKSNP"

// FormatVersion is the snapshot layout this build writes and the newest it reads.
const FormatVersion = 1

// Limits a reader enforces before trusting the header's numbers, so a corrupt or hostile object cannot make it
// allocate or write without bound.
const (
	// MaxHeaderSize bounds the JSON header; real headers are a few hundred bytes.
	MaxHeaderSize = 64 << 10
	// MaxRawSize bounds the bbolt file inside a snapshot (and its compressed payload). A registry of 100,000
	// files is about 30 MB.
	MaxRawSize = 4 << 30
)

// prefixSize is magic, version and header length; the header JSON and its CRC follow.
const prefixSize = len(Magic) + 4 + 4

var (
	// ErrNotSnapshot means the object is not a flicker snapshot at all (another program's file, a JSON document,
	// an empty object). It must not be overwritten without the user's say-so.
	ErrNotSnapshot = errors.New("not a flicker snapshot")
	// ErrCorrupt means the object is a flicker snapshot that fails verification: truncated, a checksum mismatch,
	// a payload that is not a healthy registry, or a header that disagrees with the registry inside. The error
	// says which check failed.
	ErrCorrupt = errors.New("corrupt snapshot")
	// ErrNewerFormat means the snapshot (or the registry inside it) was written by a newer flicker; the error names
	// both versions.
	ErrNewerFormat = errors.New("snapshot format is newer than this flicker reads")
)

// newerError names both versions; it matches ErrNewerFormat.
type newerError struct {
	what      string // "snapshot" or "registry"
	got, want uint64
}

func (e *newerError) Error() string {
	return fmt.Sprintf("%s format version %d is newer than this flicker reads (%d): upgrade flicker", e.what, e.got,
		e.want)
}

func (e *newerError) Is(target error) bool { return target == ErrNewerFormat }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Header describes one snapshot. It is stored in front of the payload and copied into the object's metadata.
type Header struct {
	FormatVersion int
	// Epoch and Seq are the registry's own, read from the copy itself, so a snapshot is ordered by (Epoch, Seq)
	// and Read can check that the header and the registry inside agree.
	Epoch, Seq uint64
	Created    time.Time // when the copy was taken (UTC)
	WriterID   string    // the flicker instance that wrote it (the lease holder)
	Hostname   string
	// InstanceID is the registry's random id (store.Meta.InstanceID), StoreFormat its layout version.
	InstanceID  string
	StoreFormat uint64
	// RawSize and RawSHA256 describe the bbolt file; PayloadSize and PayloadSHA256 the compressed bytes stored.
	RawSize       int64
	RawSHA256     [32]byte
	PayloadSize   int64
	PayloadSHA256 [32]byte
}

// wireHeader is the JSON form of Header. Readers ignore fields they do not know, so a later build may add
// optional fields within FormatVersion 1; a change an older reader must understand bumps FormatVersion.
type wireHeader struct {
	Epoch         uint64    `json:"epoch"`
	Seq           uint64    `json:"seq"`
	Created       time.Time `json:"created"`
	WriterID      string    `json:"writer_id"`
	Hostname      string    `json:"hostname"`
	InstanceID    string    `json:"instance_id"`
	StoreFormat   uint64    `json:"store_format"`
	RawSize       int64     `json:"raw_size"`
	RawSHA256     string    `json:"raw_sha256"`
	PayloadSize   int64     `json:"payload_size"`
	PayloadSHA256 string    `json:"payload_sha256"`
}

// encodeHeader returns everything in front of the payload: magic, version, length, JSON, CRC-32C of the JSON.
func encodeHeader(h Header) ([]byte, error) {
	js, err := json.Marshal(wireHeader{
		Epoch: h.Epoch, Seq: h.Seq, Created: h.Created.UTC(), WriterID: h.WriterID, Hostname: h.Hostname,
		InstanceID: h.InstanceID, StoreFormat: h.StoreFormat,
		RawSize: h.RawSize, RawSHA256: hex.EncodeToString(h.RawSHA256[:]),
		PayloadSize: h.PayloadSize, PayloadSHA256: hex.EncodeToString(h.PayloadSHA256[:]),
	})
	if err != nil {
		return nil, fmt.Errorf("encode snapshot header: %w", err)
	}
	if len(js) > MaxHeaderSize {
		return nil, fmt.Errorf("snapshot header is %d bytes, more than %d: shorten the writer id or hostname",
			len(js), MaxHeaderSize)
	}
	b := make([]byte, 0, prefixSize+len(js)+4)
	b = append(b, Magic...)
	b = binary.BigEndian.AppendUint32(b, FormatVersion)
	b = binary.BigEndian.AppendUint32(b, uint32(len(js)))
	b = append(b, js...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(js, castagnoli)), nil
}

// ReadHeader reads and checks the header at the start of a snapshot object and consumes exactly the header's
// bytes from r, so the payload follows. It checks the magic (ErrNotSnapshot), the format version
// (ErrNewerFormat), the header's checksum and fields (ErrCorrupt); it does not read or verify the payload: use
// Read for that. Other errors are r's own (a network error, say): worth a retry.
func ReadHeader(r io.Reader) (Header, error) {
	var pre [prefixSize]byte
	n, err := io.ReadFull(r, pre[:len(Magic)])
	switch {
	case n == 0 && (err == io.EOF || err == io.ErrUnexpectedEOF):
		return Header{}, fmt.Errorf("empty object: %w", ErrNotSnapshot)
	case err == io.ErrUnexpectedEOF && string(pre[:n]) == Magic[:n]:
		return Header{}, fmt.Errorf("truncated after %d bytes: %w", n, ErrCorrupt)
	case err != nil && err != io.ErrUnexpectedEOF:
		return Header{}, fmt.Errorf("read snapshot header: %w", err)
	case string(pre[:n]) != Magic:
		return Header{}, fmt.Errorf("object starts with %q, want %q: %w", pre[:n], Magic, ErrNotSnapshot)
	}
	if err := readFull(r, pre[len(Magic):], "header"); err != nil {
		return Header{}, err
	}
	version := binary.BigEndian.Uint32(pre[len(Magic):])
	switch {
	case version > FormatVersion:
		return Header{}, &newerError{what: "snapshot", got: uint64(version), want: FormatVersion}
	case version == 0:
		return Header{}, fmt.Errorf("format version 0: %w", ErrCorrupt)
	}
	size := binary.BigEndian.Uint32(pre[len(Magic)+4:])
	if size == 0 || size > MaxHeaderSize {
		return Header{}, fmt.Errorf("header length %d, want 1 to %d: %w", size, MaxHeaderSize, ErrCorrupt)
	}
	buf := make([]byte, size+4)
	if err := readFull(r, buf, "header"); err != nil {
		return Header{}, err
	}
	js := buf[:size]
	if got, want := crc32.Checksum(js, castagnoli), binary.BigEndian.Uint32(buf[size:]); got != want {
		return Header{}, fmt.Errorf("header crc32c %08x, stored %08x: %w", got, want, ErrCorrupt)
	}
	var w wireHeader
	if err := json.Unmarshal(js, &w); err != nil {
		return Header{}, fmt.Errorf("decode header: %v: %w", err, ErrCorrupt)
	}
	h := Header{
		FormatVersion: int(version), Epoch: w.Epoch, Seq: w.Seq, Created: w.Created.UTC(), WriterID: w.WriterID,
		Hostname: w.Hostname, InstanceID: w.InstanceID, StoreFormat: w.StoreFormat,
		RawSize: w.RawSize, PayloadSize: w.PayloadSize,
	}
	if err := errors.Join(decodeSHA(&h.RawSHA256, w.RawSHA256, "raw_sha256"),
		decodeSHA(&h.PayloadSHA256, w.PayloadSHA256, "payload_sha256"), h.validate()); err != nil {
		return Header{}, fmt.Errorf("header: %w: %w", err, ErrCorrupt)
	}
	return h, nil
}

// validate checks the numbers a reader relies on before reading the payload.
func (h Header) validate() error {
	var errs []error
	if h.RawSize <= 0 || h.RawSize > MaxRawSize {
		errs = append(errs, fmt.Errorf("raw size %d, want 1 to %d", h.RawSize, int64(MaxRawSize)))
	}
	if h.PayloadSize <= 0 || h.PayloadSize > MaxRawSize {
		errs = append(errs, fmt.Errorf("payload size %d, want 1 to %d", h.PayloadSize, int64(MaxRawSize)))
	}
	if h.StoreFormat == 0 {
		errs = append(errs, errors.New("registry format version 0"))
	}
	return errors.Join(errs...)
}

func decodeSHA(dst *[32]byte, s, field string) error {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(dst) {
		return fmt.Errorf("%s %q is not a hex sha256", field, s)
	}
	copy(dst[:], b)
	return nil
}

// readFull reads len(buf) bytes; running out of object is corruption (truncation), any other error is r's.
func readFull(r io.Reader, buf []byte, what string) error {
	n, err := io.ReadFull(r, buf)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("truncated %s: %d of %d bytes: %w", what, n, len(buf), ErrCorrupt)
	}
	if err != nil {
		return fmt.Errorf("read snapshot %s: %w", what, err)
	}
	return nil
}
