package file

import (
	"path/filepath"

	"github.com/bmatcuk/doublestar/v4"
)

// Excluded reports whether an exclude glob matches path (as a glob of paths found it) or its base name. The
// source skips such files; the config package uses it to tell whether an output's file would be read back.
func (c *Config) Excluded(path string) bool {
	base := filepath.Base(path)
	for _, ex := range c.Exclude {
		if ok, _ := doublestar.PathMatch(ex, path); ok {
			return true
		}
		if ok, _ := doublestar.PathMatch(ex, base); ok {
			return true
		}
	}
	return false
}
