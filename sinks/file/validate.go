package file

import (
	"path/filepath"
	"strings"

	"github.com/flickerlog/flicker/internal/fielderr"
)

// SetDefaults fills unset fields with their defaults.
func (c *Config) SetDefaults() {
	if c.RotateFiles == 0 {
		c.RotateFiles = DefaultRotateFiles
	}
}

// Validate checks the configuration and returns every problem as fielderr errors (paths relative to the output).
// It does not touch the file system: `flicker validate` may run elsewhere than the shipper.
func (c *Config) Validate() error {
	var errs []error
	switch base := filepath.Base(c.Path); {
	case c.Path == "":
		errs = append(errs, fielderr.New("path", "required: the file to append events to"))
	case strings.HasSuffix(c.Path, "/") || base == "." || base == "..":
		errs = append(errs, fielderr.New("path", "%q names a directory; name a file such as %q", c.Path,
			filepath.Join(c.Path, "events.ndjson")))
	}
	if c.RotateBytes < 0 {
		errs = append(errs, fielderr.New("rotate_bytes", "must be 0 (no rotation) or a size in bytes, got %d",
			c.RotateBytes))
	}
	if c.RotateFiles < 0 {
		errs = append(errs, fielderr.New("rotate_files", "must be at least 1 (or 0 for the default %d), got %d",
			DefaultRotateFiles, c.RotateFiles))
	}
	if _, err := ParseMode(c.Mode); err != nil {
		errs = append(errs, fielderr.New("mode", "%v", err))
	}
	return fielderr.Join(errs...)
}
