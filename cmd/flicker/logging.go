package main

import (
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// newLogger builds the process logger on w from --log-level and --log-format.
//
// One key once per line (zerolog's With() appends a key, it never replaces one, and JSON consumers reject or
// overwrite a repeated key): a package sets "component" (and the keys naming what it works on, such as path or
// key) on the logger it is given; a caller never sets "component", and adds only keys of its own scope (output,
// input, worker, dead_letter, registry), which the callee then does not log again. The e2e tests check every
// line (checkLogKeys).
func newLogger(w io.Writer, level, format string) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			format = "console"
		}
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	if format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000"}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}
