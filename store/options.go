package store

import (
	"errors"
	"fmt"
	"time"
)

// Defaults for the zero values of Options.
const (
	DefaultLockTimeout    = time.Second
	DefaultCommitInterval = 250 * time.Millisecond
)

// Options tune Open. The zero value is local mode with the defaults.
type Options struct {
	// NoSync skips fsync on commit: S3 mode, where the file is on ephemeral disk and the snapshot is the durable
	// copy. Local mode (false) fsyncs every commit.
	NoSync bool
	// LockTimeout bounds how long Open waits for the file lock held by another process or DB; then Open fails with
	// ErrLocked. Zero or negative means DefaultLockTimeout (never "wait forever").
	LockTimeout time.Duration
	// CommitInterval is the coalescing window of the writer goroutine. Zero or negative means
	// DefaultCommitInterval.
	CommitInterval time.Duration
	// ReadOnly opens an existing registry with a shared lock for `registry show/export`: no writer goroutine, no
	// migration; Flush, SetEpoch and Import fail with ErrReadOnly and the Put/Delete methods do nothing.
	ReadOnly bool
}

func (o Options) withDefaults() Options {
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.CommitInterval <= 0 {
		o.CommitInterval = DefaultCommitInterval
	}
	return o
}

var (
	// ErrLocked means another flicker process (or another open DB in this one) holds the registry file.
	ErrLocked = errors.New("registry is locked by another flicker process")
	// ErrFormat means the file is not a registry this build can read: a newer or unknown format version.
	ErrFormat = errors.New("unsupported registry format")
	// ErrNotRegistry means the file is not a flicker registry at all: empty, not a bbolt file, or a bbolt file
	// of another program. errors.Is also matches it with ErrFormat.
	ErrNotRegistry error = notRegistry{}
	// ErrReadOnly is returned by writes on a DB opened with Options.ReadOnly.
	ErrReadOnly = errors.New("registry is open read-only")
	// ErrClosed is returned by Flush, SetEpoch and Import after Close.
	ErrClosed = errors.New("registry is closed")
)

type notRegistry struct{}

func (notRegistry) Error() string        { return "not a flicker registry" }
func (notRegistry) Is(target error) bool { return target == ErrFormat }

// lockError carries the path into ErrLocked's message.
type lockError struct{ path string }

func (e *lockError) Error() string {
	return fmt.Sprintf("registry %s is locked by another flicker process (a running instance holds it); "+
		"stop it or use its copy", e.path)
}

func (e *lockError) Unwrap() error { return ErrLocked }
