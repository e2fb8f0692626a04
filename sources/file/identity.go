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

// fileInfo is what a stat tells about a file.
type fileInfo struct {
	inode, dev, nlink uint64
	size              int64
	mtime             time.Time
}

func infoOf(fi os.FileInfo) fileInfo {
	info := fileInfo{size: fi.Size(), mtime: fi.ModTime(), nlink: 1}
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
//   - the inode, so that two files whose first lines are equal (a CSV header, a banner) never share ids;
//   - the generation, which changes on truncation and on a content replacement at the same inode;
//   - the file's first line, up to the first newline, capped at FingerprintSize and at max_line_bytes. These
//     bytes are fixed as soon as the first event of the generation can exist (a complete first line or a first
//     piece of a long line). Only an unterminated first line flushed by flush_partial_on_close and then replayed
//     after it grew can change the seed; its message changed as well.
//
// The full 1 KiB fingerprint is not used: while the file is shorter than 1 KiB it grows, so it would not be
// reproducible.
func streamSeed(input string, inode uint64, gen uint32, r io.ReaderAt, sp splitter, scratch []byte) ([16]byte, error) {
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
	var ino [8]byte
	var g [4]byte
	binary.BigEndian.PutUint64(ino[:], inode)
	binary.BigEndian.PutUint32(g[:], gen)
	return engine.SeedID([]byte(input), ino[:], g[:], head), nil
}
