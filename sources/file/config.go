package file

import (
	"time"
)

// Config is one entry of log_files.
type Config struct {
	Name                string            `yaml:"name"`
	Paths               []string          `yaml:"paths"`
	Exclude             []string          `yaml:"exclude"`
	StartPosition       string            `yaml:"start_position"` // beginning|end
	MaxLineBytes        int               `yaml:"max_line_bytes"`
	Encoding            string            `yaml:"encoding"` // utf-8|utf-16le|utf-16be|latin1
	Timezone            string            `yaml:"timezone"`
	Multiline           *MultilineConfig  `yaml:"multiline"`
	Fields              map[string]string `yaml:"fields"`
	FieldsUnderRoot     bool              `yaml:"fields_under_root"`
	ScanInterval        time.Duration     `yaml:"scan_interval"`
	CloseInactive       time.Duration     `yaml:"close_inactive"`
	FlushPartialOnClose bool              `yaml:"flush_partial_on_close"`
	CleanRemovedAfter   time.Duration     `yaml:"clean_removed_after"`
	MaxOpenFiles        int               `yaml:"max_open_files"`
}

// MultilineConfig joins continuation lines into one event, with Filebeat's pattern/negate/match semantics.
type MultilineConfig struct {
	Pattern  string        `yaml:"pattern"`
	Negate   bool          `yaml:"negate"`
	Match    string        `yaml:"match"` // after|before
	MaxLines int           `yaml:"max_lines"`
	MaxBytes int           `yaml:"max_bytes"`
	Timeout  time.Duration `yaml:"timeout"`
}

// Defaults for log_files entries.
const (
	DefaultStartPosition     = "beginning"
	DefaultMaxLineBytes      = 1 << 20
	DefaultEncoding          = "utf-8"
	DefaultTimezone          = "UTC"
	DefaultScanInterval      = time.Second
	DefaultCloseInactive     = 5 * time.Minute
	DefaultCleanRemovedAfter = 24 * time.Hour
	DefaultMaxOpenFiles      = 1024
	DefaultMultilineMatch    = "after"
	DefaultMultilineMaxLines = 500
	DefaultMultilineMaxBytes = 4 << 20
	DefaultMultilineTimeout  = 5 * time.Second
)
