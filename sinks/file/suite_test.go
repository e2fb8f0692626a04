package file_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
	"github.com/flickerlog/flicker/sinks/file"
)

// TestPassesSinkSuite runs the engine's sink suite with rotation on: enough rotated files are kept that nothing is
// dropped, so the read-back (oldest file first) must hold every event.
func TestPassesSinkSuite(t *testing.T) {
	const keep = 30
	enginetest.RunSinkSuite(t, func(t *testing.T) (engine.Sink, func() [][]byte) {
		path := filepath.Join(t.TempDir(), "events.ndjson")
		s, err := file.New(file.Config{Path: path, RotateBytes: 16 << 10, RotateFiles: keep}, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		return s, func() [][]byte {
			var msgs [][]byte
			for n := keep; n >= 0; n-- {
				p := path
				if n > 0 {
					p += "." + strconv.Itoa(n)
				}
				if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
					continue
				}
				for _, l := range readLines(t, p) {
					msgs = append(msgs, []byte(l.Message))
				}
			}
			if _, err := os.Stat(path + "." + strconv.Itoa(keep)); err == nil {
				t.Fatal("all rotated files in use: events may have been dropped; raise keep")
			}
			return msgs
		}
	})
}
