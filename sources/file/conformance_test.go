package file_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
	"github.com/flickerlog/flicker/sources/file"
)

// fileHarness runs the engine's source conformance suite over real files: one file per stream, and a registry
// kept across the harness's sources as a restart would keep it.
type fileHarness struct {
	dir string
	reg *memRegistry
}

func (h *fileHarness) Prepare(t *testing.T, content map[string][][]byte) {
	for key, msgs := range content {
		var b bytes.Buffer
		for _, m := range msgs {
			b.Write(m)
			b.WriteByte('\n')
		}
		if err := os.WriteFile(filepath.Join(h.dir, key+".log"), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func (h *fileHarness) Source(t *testing.T) engine.Source {
	cfg := testConfig(h.dir, nil)
	src, err := file.New(cfg, h.reg, file.Options{Once: true}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestSourceConformance(t *testing.T) {
	enginetest.RunSourceSuite(t, func(t *testing.T) enginetest.SourceHarness {
		return &fileHarness{dir: t.TempDir(), reg: newRegistry()}
	})
}
