package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/flickerlog/flicker/config"
)

// FuzzParse checks that Parse never panics, and returns either a config or a non-empty Errors, never both.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("log_files: [{name: a, <<: {paths: [x]}}]\noutputs: [{type: file, path: ${HOME}}]\n"))
	f.Add([]byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse(data, "fuzz.yaml")
		if err == nil {
			if c == nil {
				t.Fatal("Parse returned neither a config nor an error")
			}
			_ = c.Summary()
			return
		}
		var errs config.Errors
		if c != nil || !errors.As(err, &errs) || len(errs) == 0 {
			t.Fatalf("Parse = %v, %v; want nil and a non-empty config.Errors", c, err)
		}
		for _, e := range errs {
			if e.File != "fuzz.yaml" || e.Msg == "" {
				t.Fatalf("error without file or message: %+v", e)
			}
		}
	})
}
