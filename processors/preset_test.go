package processors_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/flickerlog/flicker/processors"
)

// Each testdata/preset/<name>.log is parsed by the preset of that name.
func TestPresetGolden(t *testing.T) {
	runGolden(t, "preset", func(t *testing.T, logPath string) processors.Parser {
		p, err := processors.NewPreset(strings.TrimSuffix(filepath.Base(logPath), ".log"))
		if err != nil {
			t.Fatal(err)
		}
		return p
	})
}

func TestPresetUnknownName(t *testing.T) {
	_, err := processors.NewPreset("apache")
	if err == nil || !strings.Contains(err.Error(), `unknown preset "apache"`) || !strings.Contains(err.Error(), "apache_combined") {
		t.Fatalf("got %v, want an error naming the preset and the known ones", err)
	}
}
