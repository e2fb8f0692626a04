package file

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/flickerlog/flicker/engine"
)

// fileID tells files apart within a run: no two files have the same device and inode at the same time.
type fileID struct{ dev, inode uint64 }

// fileInfo is what a stat tells about a file.
type fileInfo struct {
	inode, dev, nlink uint64
	size              int64
	mtime             time.Time
	birth             int64 // creation time (statx btime) in Unix ns; 0 when the filesystem does not report it
	kind              pathKind
}

func (i fileInfo) id() fileID { return fileID{i.dev, i.inode} }

// infoOf converts an os.FileInfo, which has no birth time.
func infoOf(fi os.FileInfo) fileInfo {
	info := fileInfo{size: fi.Size(), mtime: fi.ModTime(), nlink: 1, kind: kindOfFileMode(fi.Mode())}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		info.inode, info.dev, info.nlink = st.Ino, uint64(st.Dev), uint64(st.Nlink)
	}
	return info
}

// readHead reads up to n leading bytes of r into buf (reallocated when too small) and returns them.
func readHead(r io.ReaderAt, buf []byte, n int) ([]byte, error) {
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	got, err := r.ReadAt(buf[:n], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:got], nil
}

// fingerprintOf returns the fingerprint of r's first (up to FingerprintSize) bytes and its length.
func fingerprintOf(r io.ReaderAt, scratch []byte) ([32]byte, int, error) {
	head, err := readHead(r, scratch, FingerprintSize)
	if err != nil {
		return [32]byte{}, 0, err
	}
	return sha256.Sum256(head), len(head), nil
}

// hasPrefix reports whether r's first fpLen bytes hash to fp: the growing-fingerprint match.
func hasPrefix(r io.ReaderAt, fp [32]byte, fpLen int, scratch []byte) (bool, error) {
	head, err := readHead(r, scratch, fpLen)
	if err != nil {
		return false, err
	}
	return len(head) == fpLen && sha256.Sum256(head) == fp, nil
}

// streamSeed derives the IDSeed of one generation of a file. It must give the same seed whenever the same
// events are read again, after any restart, so it uses only data that cannot change while those events exist:
//
//   - the input name;
//   - the device, inode and birth time: two files that exist at the same time differ in at least one of them, so
//     files whose first lines are equal (a CSV header, a banner, the same app in two emptyDirs) never share ids.
//     The birth time alone would not do: filesystems stamp it with a coarse clock (two tmpfs mounts filled within
//     a few milliseconds give equal ones) and some do not report it (0). The device is kept although a mount can
//     be renumbered across a restart: events read again after such a restart (the at-least-once window of a
//     crash; a clean stop re-sends nothing) then get new ids and may be stored twice by an idempotent output,
//     which is better than two live files sharing ids and one overwriting the other's events there;
//   - the generation, which changes on truncation and on a content replacement at the same inode;
//   - the file's first line, up to the first newline, capped at FingerprintSize and at max_line_bytes. These
//     bytes are fixed as soon as the first event of the generation can exist (a complete first line or a first
//     piece of a long line). Only an unterminated first line flushed by flush_partial_on_close and then replayed
//     after it grew can change the seed; its message changed as well.
//
// The full 1 KiB fingerprint is not used: while the file is shorter than 1 KiB it grows, so it would not be
// reproducible.
func streamSeed(input string, id fileID, birth int64, gen uint32, r io.ReaderAt, sp splitter,
	scratch []byte) ([16]byte, error) {
	head, err := readHead(r, scratch, FingerprintSize)
	if err != nil {
		return [16]byte{}, err
	}
	if i := sp.index(head); i >= 0 {
		head = head[:i+sp.enc.unit()]
	}
	if len(head) > sp.max {
		head = head[:sp.max]
	}
	var ident [24]byte
	var g [4]byte
	binary.BigEndian.PutUint64(ident[:], id.dev)
	binary.BigEndian.PutUint64(ident[8:], id.inode)
	binary.BigEndian.PutUint64(ident[16:], uint64(birth))
	binary.BigEndian.PutUint32(g[:], gen)
	return engine.SeedID([]byte(input), ident[:], g[:], head), nil
}
