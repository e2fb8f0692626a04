package benchmarks_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/flickerlog/flicker/benchmarks"
)

func TestLinesAreThePlainLogsLines(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "in.log")
	if _, err := benchmarks.GenerateLog(path, 64<<10); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := benchmarks.NewLines()
	for i, want := range bytes.Split(bytes.TrimSuffix(data, []byte{'\n'}), []byte{'\n'}) {
		if got := lines.Next(); !bytes.Equal(got, want) {
			t.Fatalf("line %d: %q, the plain log has %q", i, got, want)
		}
	}
}
