package file_test

import (
	"testing"

	"github.com/flickerlog/flicker/sources/file"
)

func TestExcluded(t *testing.T) {
	c := file.Config{Exclude: []string{"*.gz", "/var/log/app/debug-*", "/var/log/**/tmp/*"}}
	for path, want := range map[string]bool{
		"/var/log/app/app.log":       false,
		"/var/log/app/app.log.1.gz":  true, // base name
		"/var/log/app/debug-1.log":   true, // full path
		"/var/log/other/debug-1.log": false,
		"/var/log/a/b/tmp/x":         true,
	} {
		if got := c.Excluded(path); got != want {
			t.Errorf("Excluded(%q) = %v, want %v", path, got, want)
		}
	}
}
