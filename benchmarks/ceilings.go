package benchmarks

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"time"
)

// SplitCeiling reads path and counts its lines with a minimal loop: the speed no shipper reading this file can
// beat on this machine.
func SplitCeiling(path string) (lines int64, elapsed time.Duration, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	buf := make([]byte, 256<<10)
	start := time.Now()
	for {
		n, err := f.Read(buf)
		lines += int64(bytes.Count(buf[:n], []byte{'\n'}))
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, 0, fmt.Errorf("read %s: %w", path, err)
		}
	}
	return lines, time.Since(start), nil
}

// FsyncCeiling copies src to dst in chunks of chunk bytes with an fsync after each: the disk's limit for an
// output that fsyncs before acknowledging.
func FsyncCeiling(src, dst string, chunk int) (time.Duration, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	defer os.Remove(dst)
	defer out.Close()
	buf := make([]byte, chunk)
	start := time.Now()
	for {
		n, rerr := io.ReadFull(in, buf)
		if n > 0 {
			if _, err := out.Write(buf[:n]); err != nil {
				return 0, fmt.Errorf("write %s: %w", dst, err)
			}
			if err := out.Sync(); err != nil {
				return 0, fmt.Errorf("sync %s: %w", dst, err)
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return 0, fmt.Errorf("read %s: %w", src, rerr)
		}
	}
	return time.Since(start), nil
}
