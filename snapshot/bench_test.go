package snapshot_test

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/flickerlog/flicker/snapshot"
)

var benchSizes = []int{10000, 100000}

// BenchmarkWrite is one replication round without the upload: copy, check, compress, and read the object once.
func BenchmarkWrite(b *testing.B) {
	for _, files := range benchSizes {
		b.Run(fmt.Sprintf("files=%d", files), func(b *testing.B) {
			db := newRegistry(b, files)
			tmp := b.TempDir()
			var h snapshot.Header
			b.ReportAllocs()
			for b.Loop() {
				s, err := snapshot.Build(db, info, tmp)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, s.NewReader()); err != nil {
					b.Fatal(err)
				}
				h = s.Header
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
			}
			reportSizes(b, h)
		})
	}
}

// BenchmarkRead is a restore without the download: verify, decompress, fsync, check and install.
func BenchmarkRead(b *testing.B) {
	for _, files := range benchSizes {
		b.Run(fmt.Sprintf("files=%d", files), func(b *testing.B) {
			obj, h := writeT(b, newRegistry(b, files))
			dst := filepath.Join(b.TempDir(), "registry.db")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := snapshot.Read(bytes.NewReader(obj), dst); err != nil {
					b.Fatal(err)
				}
			}
			reportSizes(b, h)
		})
	}
}

func reportSizes(b *testing.B, h snapshot.Header) {
	b.ReportMetric(float64(h.RawSize)/(1<<20), "raw-MiB")
	b.ReportMetric(float64(h.PayloadSize)/(1<<20), "snapshot-MiB")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/snapshot")
}
