package store

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// maxKeptSlab bounds the commit scratch kept between commits: a registry with 100,000 files needs ~12 MiB for one
// full commit, which should not stay allocated.
const maxKeptSlab = 1 << 20

type fileKey struct {
	input         string
	device, inode uint64
}

// pendingFile is a FileRecord without its key, small enough (<= 128 bytes) for Go maps to store inline, so
// updating a queued file does not allocate.
type pendingFile struct {
	path           string
	offset, size   int64
	generation     uint32
	del            bool
	fingerprint    [32]byte
	fingerprintLen int
	lastSeen       time.Time
	birth          int64 // Unix ns, 0 for the zero time
}

// changes are the queued writes: the latest value per key. Deleted inputs are applied before files and cursors,
// and DeleteInput drops what was queued for the input before it, so later writes survive it.
type changes struct {
	files   map[fileKey]pendingFile
	cursors map[string]CursorRecord
	inputs  map[string]struct{}
	// outputs and outputPrefixes are the per-output positions queued (outputs.go), outputIDs the per-output
	// event ids (outputids.go).
	outputs        map[outputsKey]pendingOutputs
	outputPrefixes map[outputsKey]struct{}
	outputIDs      map[outputIDKey]pendingOutputID
	outputIDKeeps  map[string]string // input -> the only stream whose ids stay (KeepOutputIDsOf)
}

func newChanges() *changes {
	return &changes{files: map[fileKey]pendingFile{}, cursors: map[string]CursorRecord{}, inputs: map[string]struct{}{},
		outputs: map[outputsKey]pendingOutputs{}, outputPrefixes: map[outputsKey]struct{}{},
		outputIDs: map[outputIDKey]pendingOutputID{}, outputIDKeeps: map[string]string{}}
}

func (c *changes) empty() bool {
	return len(c.files) == 0 && len(c.cursors) == 0 && len(c.inputs) == 0 && len(c.outputs) == 0 &&
		len(c.outputPrefixes) == 0 && len(c.outputIDs) == 0 && len(c.outputIDKeeps) == 0
}

func (c *changes) reset() {
	clear(c.files)
	clear(c.cursors)
	clear(c.inputs)
	clear(c.outputs)
	clear(c.outputPrefixes)
	clear(c.outputIDs)
	clear(c.outputIDKeeps)
}

// requeue merges older changes (a failed commit) under c, which holds newer ones: newer writes and deletes win.
func (c *changes) requeue(older *changes) {
	for k, f := range older.files {
		if _, ok := c.files[k]; ok {
			continue
		}
		if _, ok := c.inputs[k.input]; ok {
			continue
		}
		c.files[k] = f
	}
	for k, r := range older.cursors {
		if _, ok := c.cursors[k]; ok {
			continue
		}
		if _, ok := c.inputs[k]; ok {
			continue
		}
		c.cursors[k] = r
	}
	maps.Copy(c.inputs, older.inputs)
	c.requeueOutputs(older)
	c.requeueOutputIDs(older)
}

// writable reports whether a write may be queued, and logs why not.
func (db *DB) writable(input, op string) bool {
	switch {
	case db.opts.ReadOnly:
		db.log.Error().Str("input", input).Str("op", op).Msg("write to a read-only registry ignored")
		return false
	case db.closed.Load():
		db.log.Error().Str("input", input).Str("op", op).Msg("write to a closed registry ignored")
		return false
	case !validInput(input):
		db.log.Error().Str("input", input).Str("op", op).Msg("write with an empty input name or a NUL byte ignored")
		return false
	}
	return true
}

// PutFile queues r; the latest value per (Input, Device, Inode) is committed by the writer goroutine. It never waits for
// the disk.
func (db *DB) PutFile(r FileRecord) {
	if !db.writable(r.Input, "put file") {
		return
	}
	p := pendingFile{
		path: r.Path, offset: r.Offset, size: r.Size, generation: r.Generation,
		fingerprint: r.Fingerprint, fingerprintLen: r.FingerprintLen, lastSeen: r.LastSeen, birth: unixNano(r.Birth),
	}
	db.mu.Lock()
	db.pending.files[fileKey{r.Input, r.Device, r.Inode}] = p
	db.mu.Unlock()
}

// DeleteFile queues the removal of one file record.
func (db *DB) DeleteFile(input string, device, inode uint64) {
	if !db.writable(input, "delete file") {
		return
	}
	db.mu.Lock()
	db.pending.files[fileKey{input, device, inode}] = pendingFile{del: true}
	db.mu.Unlock()
}

// PutCursor queues r; the latest value per Input is committed by the writer goroutine. r's slices and map must not
// be modified after the call.
func (db *DB) PutCursor(r CursorRecord) {
	if !db.writable(r.Input, "put cursor") {
		return
	}
	db.mu.Lock()
	db.pending.cursors[r.Input] = r
	db.mu.Unlock()
}

// DeleteInput queues the removal of every file record, the cursor and the per-output positions and ids of an
// input (registry reset). Writes queued
// for the input after this call are kept.
func (db *DB) DeleteInput(input string) {
	if !db.writable(input, "delete input") {
		return
	}
	db.mu.Lock()
	for k := range db.pending.files {
		if k.input == input {
			delete(db.pending.files, k)
		}
	}
	delete(db.pending.cursors, input)
	for k := range db.pending.outputs {
		if k.input == input {
			delete(db.pending.outputs, k)
		}
	}
	for k := range db.pending.outputPrefixes {
		if k.input == input {
			delete(db.pending.outputPrefixes, k)
		}
	}
	for k := range db.pending.outputIDs {
		if k.input == input {
			delete(db.pending.outputIDs, k)
		}
	}
	delete(db.pending.outputIDKeeps, input)
	db.pending.inputs[input] = struct{}{}
	db.mu.Unlock()
}

// Flush commits everything queued before the call and returns once it is durable (fsync'd in local mode). It
// returns at once when nothing is queued; ctx bounds the wait, not the commit.
func (db *DB) Flush(ctx context.Context) error {
	if db.opts.ReadOnly {
		return ErrReadOnly
	}
	done := make(chan error, 1)
	select {
	case db.flushc <- done:
	case <-db.stopped:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run is the writer goroutine, owned by the DB: it commits every CommitInterval and on Flush, and once more when
// Close closes quit.
func (db *DB) run() {
	defer close(db.stopped)
	tick := time.NewTicker(db.opts.CommitInterval)
	defer tick.Stop()
	failing := false
	for {
		var err error
		select {
		case <-tick.C:
			err = db.commit()
		case done := <-db.flushc:
			err = db.commit()
			done <- err
		case <-db.quit:
			db.finalErr = db.commit()
			if db.finalErr != nil {
				db.log.Error().Err(db.finalErr).Msg("final registry commit")
			}
			return
		}
		// A failing disk would otherwise log every interval: log the first failure and the recovery.
		switch {
		case err != nil && !failing:
			db.log.Error().Err(err).Msg("registry commit failed; changes stay queued and are retried")
		case err != nil:
			db.log.Debug().Err(err).Msg("registry commit failed again")
		case failing:
			db.log.Info().Msg("registry commits work again")
		}
		failing = err != nil
	}
}

// commit writes the queued changes in one transaction, with seq incremented, if there are any. On failure they are
// queued again under anything newer.
func (db *DB) commit() error {
	db.commitMu.Lock()
	defer db.commitMu.Unlock()
	db.mu.Lock()
	batch := db.pending
	if batch.empty() {
		db.mu.Unlock()
		return nil
	}
	db.pending, db.spare = db.spare, nil
	db.mu.Unlock()

	var meta Meta
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		var err error
		meta, err = db.apply(tx, batch)
		return err
	})
	db.mu.Lock()
	if err != nil {
		db.pending.requeue(batch)
	}
	batch.reset()
	db.spare = batch
	db.mu.Unlock()
	if cap(db.slab) > maxKeptSlab {
		db.slab, db.keys = nil, nil
	}
	if err != nil {
		return fmt.Errorf("commit registry %s: %w", db.path, err)
	}
	db.meta.Store(&meta)
	return nil
}

// apply writes batch into tx and bumps seq. Keys and values live in db.slab until the transaction ends, as bbolt
// requires.
func (db *DB) apply(tx *bolt.Tx, batch *changes) (Meta, error) {
	files, cursors := tx.Bucket(bucketFiles), tx.Bucket(bucketCursors)
	for input := range batch.inputs {
		if err := deleteInput(files, cursors, input); err != nil {
			return Meta{}, err
		}
		if err := deleteOutputsOf(tx, input); err != nil {
			return Meta{}, err
		}
		if err := deleteOutputIDsOf(tx, input, ""); err != nil {
			return Meta{}, err
		}
	}
	// In key order, bbolt touches each leaf page once in sequence instead of jumping around the tree.
	keys := db.keys[:0]
	for k := range batch.files {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b fileKey) int {
		return cmp.Or(strings.Compare(a.input, b.input), cmp.Compare(a.device, b.device), cmp.Compare(a.inode, b.inode))
	})
	slab := db.slab[:0]
	for _, k := range keys {
		p := batch.files[k]
		start := len(slab)
		slab = appendFileKey(slab, k.input, k.device, k.inode)
		key := slab[start:len(slab):len(slab)]
		if p.del {
			if err := files.Delete(key); err != nil {
				return Meta{}, fmt.Errorf("delete file record: %w", err)
			}
			continue
		}
		r := FileRecord{
			Path: p.path, Offset: p.offset, Size: p.size, Generation: p.generation,
			Fingerprint: p.fingerprint, FingerprintLen: p.fingerprintLen, LastSeen: p.lastSeen,
			Birth: fromUnixNano(p.birth),
		}
		start = len(slab)
		slab = appendFileValue(slab, &r)
		if err := files.Put(key, slab[start:len(slab):len(slab)]); err != nil {
			return Meta{}, fmt.Errorf("put file record: %w", err)
		}
	}
	db.slab = slab
	clear(keys)
	db.keys = keys
	for input, c := range batch.cursors {
		v, err := appendCursorValue(nil, &c)
		if err != nil {
			return Meta{}, fmt.Errorf("encode cursor of input %s: %w", input, err)
		}
		if err := cursors.Put([]byte(input), v); err != nil {
			return Meta{}, fmt.Errorf("put cursor: %w", err)
		}
	}
	if err := applyOutputs(tx, batch); err != nil {
		return Meta{}, err
	}
	if err := applyOutputIDs(tx, batch); err != nil {
		return Meta{}, err
	}
	return bumpSeq(tx, func(*Meta) error { return nil })
}

// deleteInput removes every file record and the cursor of input.
func deleteInput(files, cursors *bolt.Bucket, input string) error {
	if err := deletePrefix(files, inputPrefix(input)); err != nil {
		return fmt.Errorf("delete files of input %s: %w", input, err)
	}
	if err := cursors.Delete([]byte(input)); err != nil {
		return fmt.Errorf("delete cursor of input %s: %w", input, err)
	}
	return nil
}

// bumpSeq reads meta in tx, lets change adjust it, increments seq, stamps the time and writes it back.
func bumpSeq(tx *bolt.Tx, change func(*Meta) error) (Meta, error) {
	mb := tx.Bucket(bucketMeta)
	m, err := readMeta(mb)
	if err != nil {
		return Meta{}, err
	}
	if err := change(&m); err != nil {
		return Meta{}, err
	}
	m.Seq++
	m.Updated = time.Now().UTC()
	return m, putMeta(mb, m)
}

// SetEpoch raises the epoch (lease takeover, promote, fallback) in its own commit, which also increments seq. An
// epoch lower than the current one is an error; the current one is a no-op.
func (db *DB) SetEpoch(epoch uint64) error {
	return db.writeTx(func(tx *bolt.Tx) (Meta, error) {
		return bumpSeq(tx, func(m *Meta) error {
			if epoch < m.Epoch {
				return fmt.Errorf("epoch %d is lower than the registry's %d", epoch, m.Epoch)
			}
			m.Epoch = epoch
			return nil
		})
	}, func() bool { return db.Meta().Epoch == epoch })
}

// writeTx runs one write transaction outside the coalescing path (SetEpoch, Import), in commit order, and
// publishes the meta it returns. skip, checked under the commit lock, avoids a commit that would change nothing.
func (db *DB) writeTx(fn func(*bolt.Tx) (Meta, error), skip func() bool) error {
	switch {
	case db.opts.ReadOnly:
		return ErrReadOnly
	case db.closed.Load():
		return ErrClosed
	}
	db.commitMu.Lock()
	defer db.commitMu.Unlock()
	if skip != nil && skip() {
		return nil
	}
	var meta Meta
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		var err error
		meta, err = fn(tx)
		return err
	})
	if err != nil {
		return fmt.Errorf("write registry %s: %w", db.path, err)
	}
	db.meta.Store(&meta)
	return nil
}
