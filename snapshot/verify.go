package snapshot

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/klauspost/compress/zstd"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/internal/durable"
	"github.com/flickerlog/flicker/store"
)

// decoderWindow bounds the window a payload may ask the decompressor for (zstd's default allows 512 MiB, enough
// to kill a 128 MiB pod on a hostile or corrupt frame). It is larger than encoderWindow so a later writer may
// raise its window without a new format version.
const decoderWindow = 16 << 20

// Read reads a whole snapshot object from r, verifies it and installs the registry inside at dstPath. The checks,
// in order: magic (ErrNotSnapshot), format versions of the snapshot and of the registry inside (ErrNewerFormat),
// header checksum and fields, payload size and sha256, decompression to exactly the header's raw size and sha256,
// nothing after the payload, the file opens as a registry and passes bbolt's Check, and its meta (epoch, seq,
// instance id, format) equals the header's (all ErrCorrupt). The seq must be equal, not merely at least the
// header's: Build takes the header from the copy itself, so any difference means the header and payload do not
// belong together.
//
// The registry is decompressed to a temp file next to dstPath, fsync'd, checked, then renamed over dstPath (and the
// directory fsync'd), so on any error dstPath is untouched and no temp file is left. It may expand to the free
// space of dstPath's filesystem less a margin (at most MaxRawSize): a header claiming more is ErrTooLarge before
// anything is written, and so is a disk that fills while expanding; beyond the header's raw size is ErrCorrupt.
// dstPath must not be open (a running registry): Read replaces the file, not the open one. Once the header is
// read, an error returns the header too, for messages ("snapshot epoch 3 seq 812 is corrupt: ..."). Errors that
// are none of the four sentinels come from r (a network error: worth a retry) or from the local disk.
func Read(r io.Reader, dstPath string) (Header, error) {
	h, err := ReadHeader(r)
	if err != nil {
		return Header{}, err
	}
	switch {
	case h.StoreFormat > store.FormatVersion:
		return h, &newerError{what: "registry", got: h.StoreFormat, want: store.FormatVersion}
	case h.StoreFormat < 2:
		// S3 mode began with registry format 2: no flicker wrote a snapshot of an older one.
		return h, fmt.Errorf("registry format version %d in the snapshot, older than any flicker snapshots: %w",
			h.StoreFormat, ErrCorrupt)
	}
	if err := install(r, h, dstPath); err != nil {
		return h, fmt.Errorf("snapshot epoch %d seq %d: %w", h.Epoch, h.Seq, err)
	}
	return h, nil
}

// install decompresses the payload that follows the header in r and installs it at dstPath.
func install(r io.Reader, h Header, dstPath string) (err error) {
	dir := filepath.Dir(dstPath)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("restore to %s: %w", dstPath, err)
	}
	// Checked before anything is written: a header may claim up to MaxRawSize, more than a small emptyDir holds.
	space, err := expansionLimit(dir)
	if err != nil {
		return fmt.Errorf("restore to %s: %w", dstPath, err)
	}
	if h.RawSize > space.limit {
		return &tooLargeError{space: space, size: h.RawSize, claimed: true}
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(dstPath)+".part-*")
	if err != nil {
		return fmt.Errorf("restore to %s: %w", dstPath, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := decompress(r, h, tmp); err != nil {
		var full *diskFullError
		if errors.As(err, &full) {
			// Someone else filled the disk meanwhile: the same answer, with what fitted.
			return &tooLargeError{space: space, size: full.written}
		}
		return err
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("restore to %s: %w", dstPath, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("restore to %s: %w", dstPath, err)
	}
	// A snapshot written before an upgrade holds an older registry format: migrate the private copy, as Open
	// would migrate the installed file (meta keeps epoch, seq and instance id).
	wantFormat := h.StoreFormat
	if h.StoreFormat < store.FormatVersion {
		if err := migrateRegistry(tmp.Name()); err != nil {
			return fmt.Errorf("payload is not a healthy registry: %w: %w", err, ErrCorrupt)
		}
		wantFormat = store.FormatVersion
	}
	meta, err := openRegistry(tmp.Name())
	if err != nil {
		return fmt.Errorf("payload is not a healthy registry: %w: %w", err, ErrCorrupt)
	}
	if meta.Epoch != h.Epoch || meta.Seq != h.Seq || meta.InstanceID != h.InstanceID ||
		meta.FormatVersion != wantFormat {
		return fmt.Errorf("header says epoch %d seq %d instance %s format %d, the registry inside has "+
			"epoch %d seq %d instance %s format %d: %w", h.Epoch, h.Seq, h.InstanceID, h.StoreFormat,
			meta.Epoch, meta.Seq, meta.InstanceID, meta.FormatVersion, ErrCorrupt)
	}
	if err := os.Rename(tmp.Name(), dstPath); err != nil {
		return fmt.Errorf("restore to %s: %w", dstPath, err)
	}
	// The rename is durable only once the directory is synced; a failure here leaves a complete file in place.
	if err := durable.SyncDir(dir); err != nil {
		return fmt.Errorf("restore to %s: %w", dstPath, err)
	}
	return nil
}

// decompress checks and decompresses the payload into dst. A read error of r wins over corruption (it may explain
// it and is worth a retry); a checksum mismatch wins over a decompression error (it names the cause).
func decompress(r io.Reader, h Header, dst io.Writer) error {
	src := &hashingReader{r: io.LimitReader(r, h.PayloadSize), h: sha256.New()}
	dec, err := zstd.NewReader(src, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(decoderWindow),
		zstd.WithDecoderMaxMemory(decoderWindow), zstd.WithDecoderLowmem(true))
	if err != nil {
		return fmt.Errorf("decompress: %w", err)
	}
	defer dec.Close()
	raw := &limitedWriter{w: dst, h: sha256.New(), left: h.RawSize}
	_, decErr := io.Copy(raw, dec)
	if decErr == nil && raw.n != h.RawSize {
		decErr = fmt.Errorf("decompressed to %d bytes, header says %d", raw.n, h.RawSize)
	}
	if errors.Is(decErr, errWriteFile) {
		return decErr // the local disk, not the snapshot
	}
	// Hash the rest of the payload, if decompression stopped early, to tell damage from a bad compressor.
	if _, err := io.Copy(io.Discard, src); err != nil && src.err == nil {
		return fmt.Errorf("read snapshot payload: %w", err)
	}
	if src.err != nil {
		return fmt.Errorf("read snapshot payload: %w", src.err)
	}
	if src.n != h.PayloadSize {
		return fmt.Errorf("truncated payload: %d of %d bytes: %w", src.n, h.PayloadSize, ErrCorrupt)
	}
	if sum := src.h.Sum(nil); !bytes.Equal(sum, h.PayloadSHA256[:]) {
		return fmt.Errorf("payload sha256 %x, header says %x: %w", sum, h.PayloadSHA256, ErrCorrupt)
	}
	if decErr != nil {
		return fmt.Errorf("decompress payload: %v: %w", decErr, ErrCorrupt)
	}
	if sum := raw.h.Sum(nil); !bytes.Equal(sum, h.RawSHA256[:]) {
		return fmt.Errorf("registry sha256 %x, header says %x: %w", sum, h.RawSHA256, ErrCorrupt)
	}
	var one [1]byte
	switch n, err := io.ReadFull(r, one[:]); {
	case n > 0:
		return fmt.Errorf("bytes after the payload: %w", ErrCorrupt)
	case err != io.EOF:
		return fmt.Errorf("read snapshot end: %w", err)
	}
	return nil
}

// hashingReader hashes and counts what it reads and remembers r's first real error (not io.EOF).
type hashingReader struct {
	r   io.Reader
	h   hash.Hash
	n   int64
	err error
}

func (s *hashingReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.h.Write(p[:n])
	s.n += int64(n)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

var (
	errWriteFile = errors.New("write registry file")
	errTooLarge  = errors.New("payload decompresses to more than the header's raw size")
)

// limitedWriter writes at most left bytes to w, hashing them; more is an error, so a corrupt or hostile payload
// cannot fill the disk.
type limitedWriter struct {
	w    io.Writer
	h    hash.Hash
	n    int64
	left int64
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		return 0, errTooLarge
	}
	n, err := l.w.Write(p)
	l.h.Write(p[:n])
	l.n += int64(n)
	l.left -= int64(n)
	if errors.Is(err, syscall.ENOSPC) {
		return n, &diskFullError{written: l.n, err: err}
	}
	if err != nil {
		return n, fmt.Errorf("%w: %w", errWriteFile, err)
	}
	return n, nil
}

// diskFullError is a write of the registry file that ran out of room after written bytes.
type diskFullError struct {
	written int64
	err     error
}

func (e *diskFullError) Error() string        { return fmt.Sprintf("%v after %d bytes", e.err, e.written) }
func (e *diskFullError) Unwrap() error        { return e.err }
func (e *diskFullError) Is(target error) bool { return target == errWriteFile }

// migrateRegistry brings a registry file of an older format to the current one (Open migrates it).
func migrateRegistry(path string) error {
	db, err := store.Open(path, store.Options{NoSync: true}, zerolog.Nop())
	if err != nil {
		return err
	}
	return db.Close()
}

// openRegistry opens a registry file read-only, runs bbolt's Check on it and returns its meta.
func openRegistry(path string) (store.Meta, error) {
	db, err := store.Open(path, store.Options{ReadOnly: true}, zerolog.Nop())
	if err != nil {
		return store.Meta{}, err
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		return store.Meta{}, err
	}
	return db.Meta(), db.Close()
}
