package snapshot

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Source is the registry a snapshot copies; *store.DB satisfies it.
type Source interface {
	// WriteSnapshot writes a consistent copy of the committed registry, a complete bbolt file, to w from a read
	// transaction and returns the bytes written. Build calls it once per snapshot with w a local temp file, so the
	// read transaction stays short. An error fails the Build.
	WriteSnapshot(w io.Writer) (int64, error)
}

// HeaderInfo is what the writer says about itself. Epoch, seq, instance id and registry format are not in it:
// Build reads them from the copy, so the header always matches the registry inside even when a commit lands
// between the caller looking at the registry and the copy.
type HeaderInfo struct {
	WriterID string
	Hostname string
	Created  time.Time // zero means now
}

// encoderWindow bounds the compressor's memory (about twice the window plus tables) for a 128 MiB pod. A
// registry's redundancy is local (keys and paths within 4 KiB pages), so a larger window gains little.
const encoderWindow = 1 << 20

// Snapshot is a built snapshot object, kept in a temp file until Close, so it can be uploaded with its size known
// up front and read again for a retry without copying the registry again.
type Snapshot struct {
	Header  Header
	head    []byte   // everything in front of the payload
	payload *os.File // the compressed registry, in the temp dir
}

// Size is the length of the whole object: header and payload.
func (s *Snapshot) Size() int64 { return int64(len(s.head)) + s.Header.PayloadSize }

// NewReader returns a reader over the whole object from its first byte. Readers are independent (each has its own
// position) and valid until Close; they seek, so an HTTP client can rewind one to retry.
func (s *Snapshot) NewReader() *io.SectionReader {
	return io.NewSectionReader(object{head: s.head, payload: s.payload}, 0, s.Size())
}

// Close removes the temp file. It is safe to call more than once.
func (s *Snapshot) Close() error {
	if s.payload == nil {
		return nil
	}
	f := s.payload
	s.payload = nil
	return errors.Join(f.Close(), os.Remove(f.Name()))
}

// object is the header bytes followed by the payload file.
type object struct {
	head    []byte
	payload *os.File
}

func (o object) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	if off < int64(len(o.head)) {
		n = copy(p, o.head[off:])
		if n == len(p) {
			return n, nil
		}
	}
	m, err := o.payload.ReadAt(p[n:], off+int64(n)-int64(len(o.head)))
	return n + m, err
}

// Build copies db into tmpDir, checks the copy (it opens as a registry and passes bbolt's Check), compresses it
// with zstd into a temp file and computes the header. tmpDir needs room for the copy and the compressed copy for a
// moment; it should be local disk (the state dir), never the network. The caller uploads s.NewReader() and
// calls Close.
func Build(db Source, info HeaderInfo, tmpDir string) (*Snapshot, error) {
	created := info.Created
	if created.IsZero() {
		created = time.Now()
	}
	rawPath, err := copyRegistry(db, tmpDir)
	if err != nil {
		return nil, fmt.Errorf("build snapshot: %w", err)
	}
	defer os.Remove(rawPath)
	// Checking before upload keeps a damaged local file (NoSync, ephemeral disk) from replacing a good snapshot.
	meta, err := openRegistry(rawPath)
	if err != nil {
		return nil, fmt.Errorf("build snapshot: the copy of the registry is not healthy: %w", err)
	}
	h := Header{
		FormatVersion: FormatVersion, Epoch: meta.Epoch, Seq: meta.Seq, Created: created.UTC(),
		WriterID: info.WriterID, Hostname: info.Hostname, InstanceID: meta.InstanceID,
		StoreFormat: meta.FormatVersion,
	}
	payload, err := compress(rawPath, tmpDir, &h)
	if err != nil {
		return nil, fmt.Errorf("build snapshot: %w", err)
	}
	head, err := encodeHeader(h)
	if err != nil {
		_ = payload.Close()
		_ = os.Remove(payload.Name())
		return nil, err
	}
	return &Snapshot{Header: h, head: head, payload: payload}, nil
}

// Write builds a snapshot of db (see Build) and writes the whole object to w. It returns the header, which is
// also the object's metadata (Header.Metadata). If writing to w fails, w may have received part of the object.
func Write(w io.Writer, db Source, info HeaderInfo, tmpDir string) (Header, error) {
	s, err := Build(db, info, tmpDir)
	if err != nil {
		return Header{}, err
	}
	defer s.Close()
	if _, err := io.Copy(w, s.NewReader()); err != nil {
		return Header{}, fmt.Errorf("write snapshot: %w", err)
	}
	if err := s.Close(); err != nil {
		return Header{}, fmt.Errorf("write snapshot: %w", err)
	}
	return s.Header, nil
}

// copyRegistry writes db's copy to a temp file and returns its path. The file is not fsync'd: it lives only
// until the snapshot is built.
func copyRegistry(db Source, tmpDir string) (string, error) {
	f, err := os.CreateTemp(tmpDir, "snapshot-*.db")
	if err != nil {
		return "", fmt.Errorf("copy registry: %w", err)
	}
	_, err = db.WriteSnapshot(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return "", fmt.Errorf("copy registry: %w", err)
	}
	return f.Name(), nil
}

// compress writes the zstd-compressed rawPath to a new temp file in tmpDir and fills in h's sizes and sums.
func compress(rawPath, tmpDir string, h *Header) (_ *os.File, err error) {
	in, err := os.Open(rawPath)
	if err != nil {
		return nil, fmt.Errorf("compress: %w", err)
	}
	defer in.Close()
	out, err := os.CreateTemp(tmpDir, "snapshot-*.zst")
	if err != nil {
		return nil, fmt.Errorf("compress: %w", err)
	}
	defer func() {
		if err != nil {
			_ = out.Close()
			_ = os.Remove(out.Name())
		}
	}()
	rawSum, paySum := sha256.New(), sha256.New()
	counted := &countingWriter{w: io.MultiWriter(out, paySum)}
	enc, err := zstd.NewWriter(counted, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithWindowSize(encoderWindow))
	if err != nil {
		return nil, fmt.Errorf("compress: %w", err)
	}
	n, err := io.Copy(enc, io.TeeReader(in, rawSum))
	if cerr := enc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("compress: %w", err)
	}
	h.RawSize, h.PayloadSize = n, counted.n
	rawSum.Sum(h.RawSHA256[:0])
	paySum.Sum(h.PayloadSHA256[:0])
	if err := h.validate(); err != nil {
		return nil, fmt.Errorf("compress: %w", err)
	}
	return out, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
