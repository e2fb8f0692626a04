package store

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrDamaged means the file is a bbolt file whose pages are missing or damaged: truncated (a crash on a disk
// without fsync, a full disk) or corrupt. Restore from a snapshot, or remove it to start over.
var ErrDamaged = errors.New("registry file is damaged: restore it from a snapshot or a registry export, or remove it " +
	"to start over")

// vet reads every page of an existing registry file before Open hands it to bbolt for good. bbolt reads the file
// through a memory map and trusts its page numbers: a page past the end of a truncated file is a SIGBUS, which
// kills the process (no recover), and a damaged page panics, in its own goroutines too (the free page scan of a
// writable open, the check). Here the file is opened read-only and every page is reached from this goroutine with
// faults turned into panics, then, before a writable open, bbolt's check runs (the free page scan of a writable
// open panics on what the check reports); only a file that passes is opened.
func vet(path string, lockTimeout time.Duration, writable bool) error {
	info, err := os.Stat(path)
	if err != nil || !info.Mode().IsRegular() || info.Size() == 0 {
		return nil // Open reports these
	}
	// A fault inside bolt.Open leaves its file open until the process ends: rare, and better than the crash.
	bdb, err := guarded(func() (*bolt.DB, error) {
		return bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, ReadOnly: true})
	})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return &lockError{path: path}
	case err != nil:
		return err
	case bdb == nil:
		return nil // not a bbolt file: Open says so
	}
	defer bdb.Close()
	_, err = guarded(func() (struct{}, error) {
		return struct{}{}, bdb.View(func(tx *bolt.Tx) error {
			if tx.Size() > info.Size() {
				return fmt.Errorf("its pages end at %d bytes, the file at %d (truncated?): %w", tx.Size(),
					info.Size(), ErrDamaged)
			}
			touchBucket(tx.Cursor())
			if !writable {
				return nil
			}
			var errs []error
			for err := range tx.Check() { // drained: the check's goroutine ends only then
				errs = append(errs, err)
			}
			if len(errs) > 0 {
				return fmt.Errorf("%w: %w", errors.Join(errs...), ErrDamaged)
			}
			return nil
		})
	})
	return err
}

// touched keeps touchBucket's reads from being optimized away.
var touched atomic.Uint32

// touchBucket reads every key and value under c, nested buckets included.
func touchBucket(c *bolt.Cursor) {
	var sum byte
	for k, v := c.First(); k != nil; k, v = c.Next() {
		for _, b := range k {
			sum ^= b
		}
		for _, b := range v {
			sum ^= b
		}
		if v == nil {
			if b := c.Bucket().Bucket(k); b != nil {
				touchBucket(b.Cursor())
			}
		}
	}
	touched.Add(uint32(sum))
}

// guarded runs fn with memory faults turned into panics, and a panic into an error wrapping ErrDamaged.
func guarded[T any](fn func() (T, error)) (v T, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reading it failed (%v): %w", r, ErrDamaged)
		}
	}()
	v, err = fn()
	if errors.Is(err, berrors.ErrInvalid) || errors.Is(err, berrors.ErrVersionMismatch) ||
		errors.Is(err, berrors.ErrChecksum) {
		return v, nil // Open's own bbolt.Open reports these as it always has
	}
	return v, err
}
