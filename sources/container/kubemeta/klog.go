package kubemeta

import (
	"github.com/go-logr/logr"
	"github.com/rs/zerolog"
)

// logSink writes client-go's contextual log lines (logr) to zerolog: errors at warn (the watch error handler
// logs the failures that matter at their own level), V(0) at debug, V(1-2) at trace, more verbose ones not at
// all.
type logSink struct {
	log  zerolog.Logger
	name string // client-go's logger name, dot-joined; one "logger" key per line
}

func newLogr(log zerolog.Logger) logr.Logger { return logr.New(&logSink{log: log}) }

func (s *logSink) Init(logr.RuntimeInfo) {}

func (s *logSink) level(v int) zerolog.Level {
	switch {
	case v <= 0:
		return zerolog.DebugLevel
	case v <= 2:
		return zerolog.TraceLevel
	}
	return zerolog.Disabled
}

func (s *logSink) Enabled(v int) bool {
	l := s.level(v)
	return l != zerolog.Disabled && l >= s.log.GetLevel() && l >= zerolog.GlobalLevel()
}

func (s *logSink) Info(v int, msg string, kv ...any) {
	e := s.log.WithLevel(s.level(v))
	if s.name != "" {
		e = e.Str("logger", s.name)
	}
	e.Fields(kv).Msg(msg)
}

func (s *logSink) Error(err error, msg string, kv ...any) {
	e := s.log.Warn().Err(err)
	if s.name != "" {
		e = e.Str("logger", s.name)
	}
	e.Fields(kv).Msg(msg)
}

func (s *logSink) WithValues(kv ...any) logr.LogSink {
	return &logSink{log: s.log.With().Fields(kv).Logger(), name: s.name}
}

func (s *logSink) WithName(name string) logr.LogSink {
	if s.name != "" {
		name = s.name + "." + name
	}
	return &logSink{log: s.log, name: name}
}
