package container_test

import (
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sources/container"
	"github.com/flickerlog/flicker/sources/container/containertest"
)

// dockerLines returns n single-record lines as dockerd writes them: 120-200-byte messages on both streams, one
// in eight with quotes, a tab, HTML characters or non-ASCII text, times a microsecond apart (so their fraction
// digits vary as dockerd trims trailing zeros).
func dockerLines(n int) [][]byte {
	pad := strings.Repeat("abcdefghij", 20)
	when := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	lines := make([][]byte, 0, n)
	for i := range n {
		msg := "INFO " + pad[:115+i%80]
		switch i % 32 {
		case 3:
			msg = `WARN user="alice" path="/api/v1/items" ` + pad[:80+i%80]
		case 11:
			msg = "ERROR\tpanic: <nil> & more\t" + pad[:100+i%80]
		case 19:
			msg = "INFO café ünïcödé 日本語 " + pad[:100+i%80]
		case 27:
			msg = "DEBUG \\path\\to\\file " + pad[:100+i%80]
		}
		rec := containertest.Records([]string{"stdout", "stderr"}[i%2], msg, when.Add(time.Duration(i)*time.Microsecond))
		lines = append(lines, rec[0][:len(rec[0])-1])
	}
	return lines
}

// BenchmarkDockerDecode decodes dockerd's records one by one: the decoder alone, without the file source.
func BenchmarkDockerDecode(b *testing.B) {
	lines := dockerLines(1024)
	reordered := make([][]byte, len(lines)) // the same records with their keys in another order: the general path
	for i, l := range lines {
		s := string(l)
		at := strings.LastIndex(s, `,"stream":`)
		reordered[i] = []byte(`{` + s[at+1:len(s)-1] + `,` + s[1:at] + `}`)
	}
	// Every message with two escaped quotes, as flickerbench's lines (a quoted user agent).
	quoted := make([][]byte, len(lines))
	when := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	for i := range quoted {
		msg := `2026-11-21T10:00:00.123456Z host=web-3 GET /api/users status=200 bytes=5120 seq=` +
			strings.Repeat("7", 1+i%7) + ` ua="Mozilla/5.0 (X11; Linux x86_64)" pad=` + strings.Repeat("p", i%80)
		rec := containertest.Records("stdout", msg, when.Add(time.Duration(i)*time.Microsecond))
		quoted[i] = rec[0][:len(rec[0])-1]
	}
	for _, bb := range []struct {
		name  string
		lines [][]byte
	}{{"dockerd", lines}, {"reordered", reordered}, {"quoted", quoted}} {
		b.Run(bb.name, func(b *testing.B) {
			size := 0
			for _, l := range bb.lines {
				size += len(l) + 1
			}
			var d container.Docker
			var r container.Record
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				for _, l := range bb.lines {
					if err := d.Decode(l, &r); err != nil {
						b.Fatal(err)
					}
				}
			}
			records := float64(b.N) * float64(len(bb.lines))
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/records, "ns/record")
			b.ReportMetric(records/b.Elapsed().Seconds(), "records/s")
		})
	}
}
