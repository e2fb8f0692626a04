package file

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/flickerlog/flicker/internal/eventfields"
	"github.com/flickerlog/flicker/internal/fielderr"
)

// MinMaxLineBytes is the smallest accepted max_line_bytes.
const MinMaxLineBytes = 16

var encodings = map[string]string{
	"utf-8": "utf-8", "utf8": "utf-8", "utf-16le": "utf-16le", "utf-16be": "utf-16be",
	"latin1": "latin1", "iso-8859-1": "latin1",
}

// SetDefaults fills unset fields with their defaults and normalises enumerations to lower case.
func (c *Config) SetDefaults() {
	c.StartPosition = strings.ToLower(c.StartPosition)
	if c.StartPosition == "" {
		c.StartPosition = DefaultStartPosition
	}
	if c.MaxLineBytes == 0 {
		c.MaxLineBytes = DefaultMaxLineBytes
	}
	c.Format = strings.ToLower(c.Format)
	c.Encoding = strings.ToLower(c.Encoding)
	if c.Encoding == "" {
		c.Encoding = DefaultEncoding
	}
	if c.Timezone == "" {
		c.Timezone = DefaultTimezone
	}
	if c.JoinTimeout == 0 {
		c.JoinTimeout = DefaultJoinTimeout
	}
	if c.ScanInterval == 0 {
		c.ScanInterval = DefaultScanInterval
	}
	if c.CloseInactive == 0 {
		c.CloseInactive = DefaultCloseInactive
	}
	if c.CleanRemovedAfter == 0 {
		c.CleanRemovedAfter = DefaultCleanRemovedAfter
	}
	if c.MaxOpenFiles == 0 {
		c.MaxOpenFiles = DefaultMaxOpenFiles
	}
	if m := c.Multiline; m != nil {
		m.Match = strings.ToLower(m.Match)
		if m.Match == "" {
			m.Match = DefaultMultilineMatch
		}
		if m.MaxLines == 0 {
			m.MaxLines = DefaultMultilineMaxLines
		}
		if m.MaxBytes == 0 {
			m.MaxBytes = DefaultMultilineMaxBytes
		}
		if m.Timeout == 0 {
			m.Timeout = DefaultMultilineTimeout
		}
	}
}

// Validate checks the configuration (after SetDefaults) and returns every problem as fielderr errors with paths
// relative to the entry.
func (c *Config) Validate() error {
	var errs []error
	add := func(path, format string, args ...any) { errs = append(errs, fielderr.New(path, format, args...)) }
	if strings.TrimSpace(c.Name) == "" {
		add("name", "required: registry state is keyed by it")
	}
	if len(c.Paths) == 0 {
		add("paths", "at least one glob is required")
	}
	for i, p := range c.Paths {
		if p == "" || !doublestar.ValidatePathPattern(p) {
			add(fmt.Sprintf("paths[%d]", i), "invalid glob %q", p)
		}
	}
	for i, p := range c.Exclude {
		if p == "" || !doublestar.ValidatePathPattern(p) {
			add(fmt.Sprintf("exclude[%d]", i), "invalid glob %q", p)
		}
	}
	if c.StartPosition != "beginning" && c.StartPosition != "end" {
		add("start_position", "must be beginning or end, not %q", c.StartPosition)
	}
	if c.MaxLineBytes < MinMaxLineBytes {
		add("max_line_bytes", "must be at least %d, not %d", MinMaxLineBytes, c.MaxLineBytes)
	}
	if _, ok := encodings[c.Encoding]; !ok {
		add("encoding", "must be one of utf-8, utf-16le, utf-16be, latin1, not %q", c.Encoding)
	}
	switch c.Format {
	case FormatPlain, FormatAuto, FormatDocker, FormatCRI:
		if c.Format != FormatPlain && encodings[c.Encoding] != "utf-8" {
			add("encoding", "must be utf-8 with format %s (container logs are UTF-8), not %q", c.Format, c.Encoding)
		}
	default:
		add("format", "must be auto, docker or cri, or left out for plain lines, not %q", c.Format)
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		add("timezone", "unknown time zone %q: %v", c.Timezone, err)
	}
	if m := c.Multiline; m != nil {
		errs = append(errs, m.validate()...)
	}
	errs = append(errs, eventfields.Validate(c.Fields, c.FieldsUnderRoot)...)
	for _, d := range []struct {
		path string
		v    time.Duration
	}{{"scan_interval", c.ScanInterval}, {"close_inactive", c.CloseInactive},
		{"clean_removed_after", c.CleanRemovedAfter}, {"join_timeout", c.JoinTimeout}} {
		if d.v <= 0 {
			add(d.path, "must be positive, not %v", d.v)
		}
	}
	if c.MaxOpenFiles < 1 {
		add("max_open_files", "must be at least 1, not %d", c.MaxOpenFiles)
	}
	return fielderr.Join(errs...)
}

func (m *MultilineConfig) validate() []error {
	var errs []error
	if m.Pattern == "" {
		errs = append(errs, fielderr.New("multiline.pattern", "required"))
	} else if _, err := regexp.Compile(m.Pattern); err != nil {
		errs = append(errs, fielderr.New("multiline.pattern", "invalid regexp: %v", err))
	}
	if m.Match != "after" && m.Match != "before" {
		errs = append(errs, fielderr.New("multiline.match", "must be after or before, not %q", m.Match))
	}
	if m.MaxLines < 1 {
		errs = append(errs, fielderr.New("multiline.max_lines", "must be at least 1, not %d", m.MaxLines))
	}
	if m.MaxBytes < 1 {
		errs = append(errs, fielderr.New("multiline.max_bytes", "must be at least 1, not %d", m.MaxBytes))
	}
	if m.Timeout <= 0 {
		errs = append(errs, fielderr.New("multiline.timeout", "must be positive, not %v", m.Timeout))
	}
	return errs
}
