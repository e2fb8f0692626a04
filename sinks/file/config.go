package file

import "io/fs"

// Config holds the settings of an output of type file (the config package handles type, name, retry and
// dead_letter); the same writer serves as a dead-letter file.
type Config struct {
	Path        string `yaml:"path"`
	RotateBytes int64  `yaml:"rotate_bytes"` // 0: no rotation
	RotateFiles int    `yaml:"rotate_files"` // rotated files kept (path.1 … path.N)
	// Mode is the permission of the files the sink creates, in octal ("0640"; empty: DefaultMode). A file that
	// already exists keeps its own mode; see ParseMode and DirMode.
	Mode string `yaml:"mode"`
}

// DefaultRotateFiles is how many rotated files are kept when rotate_bytes is set.
const DefaultRotateFiles = 5

// DefaultMode is the permission of a created file when mode is not set: events (rejected audit events in a dead
// letter among them) are for the account flicker runs as.
const DefaultMode fs.FileMode = 0o600
