package benchmarks_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/flickerlog/flicker/benchmarks"
)

func TestGenerateLogLineSizes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.log")
	lines, err := benchmarks.GenerateLog(path, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) < 1<<20 || int64(len(data)) > 1<<20+200 {
		t.Fatalf("size %d, want about 1 MiB", len(data))
	}
	split := bytes.Split(bytes.TrimSuffix(data, []byte{'\n'}), []byte{'\n'})
	if int64(len(split)) != lines {
		t.Fatalf("%d lines in file, generator said %d", len(split), lines)
	}
	for i, l := range split {
		if n := len(l) + 1; n < 120 || n > 200 {
			t.Fatalf("line %d is %d bytes with its newline, want 120-200", i, n)
		}
	}
	got, _, err := benchmarks.SplitCeiling(path)
	if err != nil || got != lines {
		t.Fatalf("SplitCeiling counted %d lines (%v), want %d", got, err, lines)
	}
}
