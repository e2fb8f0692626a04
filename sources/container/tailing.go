package container

import (
	"strings"
	"time"

	"github.com/flickerlog/flicker/sources/file"
)

// Tailing holds the settings both container inputs share: the streams they keep, and the log_files settings of
// the file source they read through. Each input embeds it inline, so its keys sit next to the input's own.
type Tailing struct {
	// Streams keeps the records of these streams: stdout, stderr (default both).
	Streams []string `yaml:"streams"`
	// Multiline applies to the joined messages of one stream, as for log_files.
	Multiline *file.MultilineConfig `yaml:"multiline"`

	// As for log_files.
	StartPosition     string            `yaml:"start_position"`
	MaxLineBytes      int               `yaml:"max_line_bytes"` // caps a joined message, as a line of log_files
	Fields            map[string]string `yaml:"fields"`
	FieldsUnderRoot   bool              `yaml:"fields_under_root"`
	ScanInterval      time.Duration     `yaml:"scan_interval"` // new containers are found within it
	CloseInactive     time.Duration     `yaml:"close_inactive"`
	CleanRemovedAfter time.Duration     `yaml:"clean_removed_after"` // positions of removed containers are kept this long
	MaxOpenFiles      int               `yaml:"max_open_files"`
	// JoinTimeout ships a message whose next record has not come for this long as it is (a rotation or a
	// container that died mid-message cut it).
	JoinTimeout time.Duration `yaml:"join_timeout"`
}

// setDefaults fills the unset settings with log_files' defaults (and both streams).
func (t *Tailing) setDefaults() {
	t.Streams = defaultStreams(t.Streams)
	fc := t.fileConfig("", nil, "")
	fc.SetDefaults()
	t.StartPosition, t.MaxLineBytes, t.ScanInterval = fc.StartPosition, fc.MaxLineBytes, fc.ScanInterval
	t.CloseInactive, t.CleanRemovedAfter, t.MaxOpenFiles = fc.CloseInactive, fc.CleanRemovedAfter, fc.MaxOpenFiles
	t.Multiline, t.JoinTimeout = fc.Multiline, fc.JoinTimeout
}

// fileConfig is the log_files entry named name that reads the logs under the globs in the format: compressed and
// half-written rotations are never read.
func (t *Tailing) fileConfig(name string, globs []string, format string) file.Config {
	return file.Config{
		Name: name, Paths: globs, Exclude: []string{"*.gz", "*.tmp"}, Format: format,
		Encoding: file.DefaultEncoding, Timezone: file.DefaultTimezone, StartPosition: t.StartPosition,
		MaxLineBytes: t.MaxLineBytes, Multiline: t.Multiline, Fields: t.Fields, FieldsUnderRoot: t.FieldsUnderRoot,
		ScanInterval: t.ScanInterval, CloseInactive: t.CloseInactive, CleanRemovedAfter: t.CleanRemovedAfter,
		MaxOpenFiles: t.MaxOpenFiles, JoinTimeout: t.JoinTimeout,
	}
}

// defaultStreams is streams in lower case, or both streams when it is empty.
func defaultStreams(streams []string) []string {
	if len(streams) == 0 {
		return append([]string(nil), streamsAll...)
	}
	for i, s := range streams {
		streams[i] = strings.ToLower(s)
	}
	return streams
}
