package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/flickerlog/flicker/internal/durable"
)

// initialMmapSize reserves address space (the file still grows lazily on Linux) so that the registry rarely needs
// a remap, which would wait for a snapshot's read transaction.
const initialMmapSize = 64 << 20

// DB is an open registry. Its methods are safe for concurrent use.
type DB struct {
	path string
	opts Options
	log  zerolog.Logger
	bolt *bolt.DB
	meta atomic.Pointer[Meta] // as of the last commit
	key  atomic.Pointer[paramsKey]

	mu      sync.Mutex // guards pending; held only for map operations, never across disk I/O
	pending *changes

	commitMu sync.Mutex // serialises write transactions, so meta is published in commit order
	spare    *changes   // the other buffer of pending, under commitMu
	slab     []byte     // keys and values of one commit, under commitMu
	keys     []fileKey  // the keys of one commit in order, under commitMu

	closed    atomic.Bool
	flushc    chan chan error // Flush requests to the writer
	quit      chan struct{}   // closed by Close: the writer commits once more and returns
	stopped   chan struct{}   // closed by the writer when it returns
	finalErr  error           // the writer's last commit, read after stopped
	closeOnce sync.Once
	closeErr  error
}

// Open opens the registry at path, creating it (and its directory) if needed. It waits at most Options.LockTimeout
// for the file lock, then fails with ErrLocked. A new registry gets a random instance id; a format 1 registry is
// migrated; a newer or unknown format fails with ErrFormat and the file is left as it was. Unless
// Options.ReadOnly is set, Open starts the writer goroutine, which Close stops.
func Open(path string, opts Options, log zerolog.Logger) (*DB, error) {
	opts = opts.withDefaults()
	log = log.With().Str("component", "store").Str("path", path).Logger()
	if opts.ReadOnly {
		// bbolt would create a missing file even when read-only, and fails on an empty one with "bad file
		// descriptor" (it tries to write the first pages).
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("open registry: %w", err)
		}
		if fi.Mode().IsRegular() && fi.Size() == 0 {
			return nil, fmt.Errorf("open registry %s: the file is empty: %w", path, ErrNotRegistry)
		}
	}
	var newDirs []string // directories the registry's path needed: their entries are synced with the file's
	if !opts.ReadOnly {
		for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) || filepath.Dir(dir) == dir {
				break
			}
			newDirs = append(newDirs, dir)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("open registry: %w", err)
		}
	}
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, fs.ErrNotExist) && !opts.ReadOnly
	bopts := &bolt.Options{
		Timeout:         opts.LockTimeout,
		NoSync:          opts.NoSync,
		NoGrowSync:      opts.NoSync,
		NoFreelistSync:  true, // rebuilt by a scan on open; saves writing it on every commit
		FreelistType:    bolt.FreelistMapType,
		ReadOnly:        opts.ReadOnly,
		InitialMmapSize: initialMmapSize,
	}
	if err := vet(path, opts.LockTimeout, !opts.ReadOnly); err != nil {
		var locked *lockError
		if errors.As(err, &locked) {
			return nil, err
		}
		return nil, fmt.Errorf("open registry %s: %w", path, err)
	}
	bdb, err := bolt.Open(path, 0o600, bopts)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, &lockError{path: path}
	}
	if errors.Is(err, berrors.ErrInvalid) || errors.Is(err, berrors.ErrVersionMismatch) ||
		errors.Is(err, berrors.ErrChecksum) {
		return nil, fmt.Errorf("open registry %s: not a bbolt file (%w): %w", path, err, ErrNotRegistry)
	}
	if err != nil {
		return nil, fmt.Errorf("open registry %s: %w", path, err)
	}
	meta, key, sealed, err := prepare(bdb, opts.ReadOnly, log)
	if err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("open registry %s: %w", path, err)
	}
	if sealed > 0 {
		if bdb, err = compact(path, bdb, bopts, opts.NoSync, log); err != nil {
			if bdb != nil {
				_ = bdb.Close()
			}
			return nil, fmt.Errorf("open registry %s: %w", path, err)
		}
	}
	if created && !opts.NoSync {
		// bbolt syncs the new file's contents, not its directory entry (nor those of the directories made for
		// it): without this, a power cut could leave no registry at all behind commits reported durable.
		for _, dir := range append([]string{filepath.Dir(path)}, parents(newDirs)...) {
			if err := durable.SyncDir(dir); err != nil {
				_ = bdb.Close()
				return nil, fmt.Errorf("open registry %s: sync directory %s: %w", path, dir, err)
			}
		}
	}
	db := &DB{
		path: path, opts: opts, log: log, bolt: bdb,
		pending: newChanges(), spare: newChanges(),
		flushc: make(chan chan error), quit: make(chan struct{}), stopped: make(chan struct{}),
	}
	db.meta.Store(&meta)
	db.key.Store(key)
	if !opts.ReadOnly {
		go db.run()
	}
	log.Debug().Uint64("seq", meta.Seq).Uint64("epoch", meta.Epoch).Str("instance_id", meta.InstanceID).
		Bool("read_only", opts.ReadOnly).Msg("registry opened")
	return db, nil
}

// parents returns the parent directory of each of dirs.
func parents(dirs []string) []string {
	out := make([]string, len(dirs))
	for i, d := range dirs {
		out[i] = filepath.Dir(d)
	}
	return out
}

// Path returns the file path given to Open.
func (db *DB) Path() string { return db.path }

// Meta returns the registry's meta as of its last commit. It does not touch the disk.
func (db *DB) Meta() Meta { return *db.meta.Load() }

// Files returns the committed records of one input, ordered by device, then inode. Queued changes are not included: Flush
// first to see them.
func (db *DB) Files(input string) ([]FileRecord, error) {
	prefix := append([]byte(input), 0)
	var out []FileRecord
	err := db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketFiles).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			r, err := fileRecord(k, v)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read files of input %s: %w", input, err)
	}
	return out, nil
}

// AllFiles returns every committed file record, ordered by input, device, then inode.
func (db *DB) AllFiles() ([]FileRecord, error) {
	var out []FileRecord
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		out, err = allFiles(tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read files: %w", err)
	}
	return out, nil
}

func allFiles(tx *bolt.Tx) ([]FileRecord, error) {
	b := tx.Bucket(bucketFiles)
	out := make([]FileRecord, 0, b.Stats().KeyN)
	err := b.ForEach(func(k, v []byte) error {
		r, err := fileRecord(k, v)
		if err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

func fileRecord(k, v []byte) (FileRecord, error) {
	var r FileRecord
	var err error
	if r.Input, r.Device, r.Inode, err = parseFileKey(k); err != nil {
		return r, err
	}
	if len(v) > 0 && v[0] != fileRecordV2 {
		return r, fmt.Errorf("file record of input %s device %d inode %d: encoding %d in format %d: %w",
			r.Input, r.Device, r.Inode, v[0], FormatVersion, errCorrupt)
	}
	if err := decodeFileValue(v, &r); err != nil {
		return r, fmt.Errorf("file record of input %s device %d inode %d: %w", r.Input, r.Device, r.Inode, err)
	}
	return r, nil
}

// Cursor returns the committed cursor of an input; false when it has none.
func (db *DB) Cursor(input string) (CursorRecord, bool, error) {
	var (
		r     CursorRecord
		found bool
	)
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketCursors).Get([]byte(input))
		if v == nil {
			return nil
		}
		found = true
		var err error
		r, err = decodeCursorValue(input, v, db.key.Load())
		return err
	})
	if err != nil {
		return CursorRecord{}, false, fmt.Errorf("read cursor of input %s: %w", input, err)
	}
	return r, found, nil
}

// AllCursors returns every committed API cursor, ordered by input.
func (db *DB) AllCursors() ([]CursorRecord, error) {
	var out []CursorRecord
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		out, err = allCursors(tx, db.key.Load())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read cursors: %w", err)
	}
	return out, nil
}

// allCursors returns every cursor in tx, ordered by input.
func allCursors(tx *bolt.Tx, key *paramsKey) ([]CursorRecord, error) {
	var out []CursorRecord
	err := tx.Bucket(bucketCursors).ForEach(func(k, v []byte) error {
		r, err := decodeCursorValue(string(k), v, key)
		if err != nil {
			return fmt.Errorf("cursor of input %s: %w", k, err)
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// WriteSnapshot writes a consistent copy of the committed registry (a complete bbolt file) to w from a read
// transaction, without blocking writers; it returns the bytes written. Queued changes are not included: Flush
// first. Keep w fast (memory or a local file): the read transaction stays open while it writes.
func (db *DB) WriteSnapshot(w io.Writer) (int64, error) {
	var n int64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("snapshot registry %s: %w", db.path, err)
	}
	return n, nil
}

// Check runs bbolt's consistency check over the whole file and returns every problem found, joined.
func (db *DB) Check() error {
	var errs []error
	err := db.bolt.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		return fmt.Errorf("check registry %s: %w", db.path, errors.Join(errs...))
	}
	return nil
}

// Close commits everything queued, stops the writer goroutine and closes the file. Changes queued after Close are
// ignored. It returns the error of the last commit, if any; calling it again returns the same error.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.closed.Store(true)
		var err error
		if !db.opts.ReadOnly {
			close(db.quit)
			<-db.stopped
			err = db.finalErr
		}
		if cerr := db.bolt.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close registry %s: %w", db.path, cerr))
		}
		db.closeErr = err
	})
	return db.closeErr
}
