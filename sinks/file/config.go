package file

// Config holds the settings of an output of type file (the config package handles type, name, retry and
// dead_letter); the same writer serves as a dead-letter file.
type Config struct {
	Path        string `yaml:"path"`
	RotateBytes int64  `yaml:"rotate_bytes"` // 0: no rotation
	RotateFiles int    `yaml:"rotate_files"` // rotated files kept (path.1 … path.N)
}

// DefaultRotateFiles is how many rotated files are kept when rotate_bytes is set.
const DefaultRotateFiles = 5
