package benchmarks_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flickerlog/flicker/benchmarks"
)

// fakeFlicker writes a script that answers `validate` as a flicker binary would: the message on stderr, then
// exit code.
func fakeFlicker(t *testing.T, message string, code int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "flicker")
	script := "#!/bin/sh\necho '" + message + "' >&2\nexit " + string(rune('0'+code)) + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestValidateTellsARefusedConfigFromAFailure(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		code      int
		refused   bool
		failed    bool
		inMessage string
	}{
		{"accepted", 0, false, false, ""},
		{"refused", 2, true, true, "kubernetes: not supported by this version of flicker"},
		{"crashed", 1, false, true, "panic"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := benchmarks.Validate(fakeFlicker(t, c.inMessage, c.code), "config.yaml")
			if (err != nil) != c.failed || errors.Is(err, benchmarks.ErrRefused) != c.refused {
				t.Fatalf("Validate: %v; want failed %v, refused %v", err, c.failed, c.refused)
			}
			if err != nil && !strings.Contains(err.Error(), c.inMessage) {
				t.Fatalf("Validate: %v; want the binary's message %q in it", err, c.inMessage)
			}
		})
	}
}
