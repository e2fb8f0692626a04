package container

import (
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/internal/rfc3339"
	"github.com/flickerlog/flicker/sources/file"
)

// Lines of 120-200 bytes, as the throughput goal's: a containerd line on a UTC node, one on a node with a zone,
// a CRI-O line.
var benchLines = []struct {
	name string
	line []byte
}{
	{"containerd-utc", []byte("2024-03-12T14:01:58.392741Z stdout F " + strings.Repeat("GET /api/v1/items 200 ", 6) + "\n")},
	{"containerd-offset", []byte("2024-03-12T15:01:58.392741123+01:00 stderr F " + strings.Repeat("W0312 slow ", 12) + "\n")},
	{"cri-o", []byte("2024-03-12T14:01:58.392741000+00:00 stdout P " + strings.Repeat("level=info msg=ok ", 7) + "\n")},
}

// BenchmarkParseCRI decodes one line per iteration; the content is not copied.
func BenchmarkParseCRI(b *testing.B) {
	for _, bl := range benchLines {
		b.Run(bl.name, func(b *testing.B) {
			b.SetBytes(int64(len(bl.line)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseCRI(bl.line); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// BenchmarkCRITime compares internal/rfc3339, which ParseCRI reads the time with, with time.Parse as the kubelet
// reads it (time.Parse(layout, string(field))).
func BenchmarkCRITime(b *testing.B) {
	for _, bl := range benchLines {
		field := bl.line[:strings.IndexByte(string(bl.line), ' ')]
		b.Run(bl.name+"/rfc3339", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := rfc3339.ParseError(field); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bl.name+"/time.Parse", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := time.Parse(time.RFC3339Nano, string(field)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCRIFormat decodes containerd lines a microsecond apart (fractions of 1-6 digits, as containerd trims
// them) through the file source's CRI format, whose time is read through its cache: one line per iteration.
func BenchmarkCRIFormat(b *testing.B) {
	when := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	lines := make([][]byte, 1024)
	for i := range lines {
		t := when.Add(time.Duration(i) * time.Microsecond).Format(time.RFC3339Nano)
		lines[i] = []byte(t + " stdout F " + strings.Repeat("x", 150))
	}
	var f criFormat
	var p file.Piece
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := f.Decode(lines[i%len(lines)], &p); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
