package file

import (
	"time"
)

// Config is one entry of log_files.
type Config struct {
	// Name identifies the input; registry state is keyed by it, so renaming an input starts it afresh.
	Name string `yaml:"name"`
	// Paths are globs (`**` matches any number of directories). A match that is a symlink is read only with
	// FollowSymlinks; other matches that are not regular files (directories, named pipes, sockets, devices) are
	// skipped, and logged once.
	Paths []string `yaml:"paths"`
	// FollowSymlinks reads the target of a symlink that a glob (or a literal path) matches; the file is then
	// tracked, and searched for after rotation, where the target lives. Without it such a link is skipped and
	// logged once: a link planted in a watched directory cannot make flicker read a file it was not asked to.
	// Symlinked directories above the matched file are followed either way.
	FollowSymlinks bool `yaml:"follow_symlinks"`
	// Exclude globs are matched against both the full path and the base name.
	Exclude []string `yaml:"exclude"`
	// StartPosition (beginning|end) applies only to files found at startup that the registry does not know.
	// Files that appear later are always read from the beginning: that is what rotation needs.
	StartPosition string `yaml:"start_position"`
	// MaxLineBytes caps an event's raw size; longer lines are cut into several events (counted).
	MaxLineBytes int `yaml:"max_line_bytes"`
	// Encoding of the file: utf-8, utf-16le, utf-16be or latin1. Lines are split on raw bytes, then decoded.
	Encoding string `yaml:"encoding"` // utf-8|utf-16le|utf-16be|latin1
	// Timezone is for parsers of times without a zone.
	Timezone  string           `yaml:"timezone"`
	Multiline *MultilineConfig `yaml:"multiline"`
	// Format decodes container log lines: docker (Docker's json-file driver), cri (containerd's and CRI-O's
	// CRI format), auto (each file's first line read tells docker, cri and plain lines apart), or empty for
	// plain lines. Partial records are joined per stream into
	// one message (capped at MaxLineBytes like a line), @timestamp is the record's time and stream a field;
	// Multiline then applies to the joined messages of one stream. A line the format cannot decode is shipped
	// raw with error.message.
	Format string `yaml:"format"`
	// JoinTimeout (with Format) ships a message whose next record has not come for this long as it is: a runtime
	// writes the records of one message at once, so only a message cut by a rotation or by a container that died
	// mid-message waits that long. Its records after the timeout make another message.
	JoinTimeout time.Duration `yaml:"join_timeout"`
	// Fields are added to every event, under "fields" or, with FieldsUnderRoot, at the top level.
	Fields          map[string]string `yaml:"fields"`
	FieldsUnderRoot bool              `yaml:"fields_under_root"`
	// ScanInterval is how often the globs are evaluated again and open files checked for truncation, deletion
	// and rotation. Idle files are polled with a backoff capped by it.
	ScanInterval time.Duration `yaml:"scan_interval"`
	// CloseInactive releases a file's handle after it has not grown for this long; it is reopened when it grows.
	CloseInactive time.Duration `yaml:"close_inactive"`
	// FlushPartialOnClose ships an unterminated last line when its file is released (deleted, renamed away,
	// inactive) or, in once mode, when the file's size at start is reached. Otherwise it is never shipped half.
	FlushPartialOnClose bool `yaml:"flush_partial_on_close"`
	// CleanRemovedAfter forgets registry entries of files not seen for this long.
	CleanRemovedAfter time.Duration `yaml:"clean_removed_after"`
	// MaxOpenFiles bounds open handles; files with data beyond it take turns (least recently active closed first).
	MaxOpenFiles int `yaml:"max_open_files"`
}

// MultilineConfig joins continuation lines into one event, with Filebeat's pattern/negate/match semantics:
// a line is a continuation when it matches Pattern (does not match, with Negate); with Match "after" it is
// appended to the line before it, with "before" it is prepended to the line after it. An event that reaches
// MaxLines or MaxBytes is shipped and the next line starts a new one (nothing is dropped); an event pending
// longer than Timeout is shipped.
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
	DefaultJoinTimeout       = 5 * time.Second
)
