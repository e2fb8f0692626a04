package file_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/internal/fielderr"
	"github.com/flickerlog/flicker/sinks/file"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		cfg   file.Config
		paths []string // fields named by the errors, in order
	}{
		{name: "valid", cfg: file.Config{Path: "/var/log/flicker/out.ndjson"}},
		{name: "valid with rotation", cfg: file.Config{Path: "out.ndjson", RotateBytes: 1 << 20, RotateFiles: 3}},
		{name: "missing path", cfg: file.Config{}, paths: []string{"path"}},
		{name: "directory path", cfg: file.Config{Path: "/var/log/"}, paths: []string{"path"}},
		{name: "dot path", cfg: file.Config{Path: "."}, paths: []string{"path"}},
		{name: "negative rotate_bytes", cfg: file.Config{Path: "x", RotateBytes: -1}, paths: []string{"rotate_bytes"}},
		{name: "negative rotate_files", cfg: file.Config{Path: "x", RotateFiles: -2}, paths: []string{"rotate_files"}},
		{name: "valid mode", cfg: file.Config{Path: "x", Mode: "0640"}},
		{name: "mode with execute bits", cfg: file.Config{Path: "x", Mode: "0750"}, paths: []string{"mode"}},
		{name: "mode not octal", cfg: file.Config{Path: "x", Mode: "0x1a4"}, paths: []string{"mode"}},
		{name: "every problem", cfg: file.Config{RotateBytes: -1, RotateFiles: -1, Mode: "7777"},
			paths: []string{"path", "rotate_bytes", "rotate_files", "mode"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			var got []string
			if err != nil {
				joined, ok := err.(interface{ Unwrap() []error })
				if !ok {
					t.Fatalf("error %v is not a joined list", err)
				}
				for _, e := range joined.Unwrap() {
					var fe *fielderr.Error
					if !errors.As(e, &fe) {
						t.Fatalf("%v is not a fielderr.Error", e)
					}
					got = append(got, fe.Path)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.paths, ",") {
				t.Errorf("errors on %v, want %v (%v)", got, tt.paths, err)
			}
		})
	}
}

func TestSetDefaults(t *testing.T) {
	cfg := file.Config{Path: "x", RotateBytes: 10}
	cfg.SetDefaults()
	if cfg.RotateFiles != file.DefaultRotateFiles {
		t.Errorf("rotate_files %d, want %d", cfg.RotateFiles, file.DefaultRotateFiles)
	}
	cfg = file.Config{Path: "x", RotateFiles: 2}
	cfg.SetDefaults()
	if cfg.RotateFiles != 2 {
		t.Errorf("set rotate_files changed to %d", cfg.RotateFiles)
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	if _, err := file.New(file.Config{}, zerolog.Nop()); err == nil {
		t.Fatal("New accepted a config without path")
	}
}
