package store

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Per-output positions (DESIGN.md section 6): for a stream on which some output is ahead of the committed
// position, the position of each such output, so that after a restart it receives only what it had not accepted.
// They live in their own bucket, created by the first commit that stores one, so registries without it (older
// builds, every registry whose outputs never diverged) need no migration, and a build that does not know the
// bucket ignores it. The bucket is part of every snapshot like the rest of the file.
//
//	outputs  input + 0x00 + stream key  ->  version byte + (uvarint len(output), output, varint position)...
//
// Values are written through the same coalescing writer as the files and cursors, in the same transactions: an
// entry is committed together with the file offsets queued before it.
var bucketOutputs = []byte("outputs")

const outputPositionsV1 byte = 1

// outputsKey is the key of one stream's per-output positions; with a prefix deletion, stream is the prefix.
type outputsKey struct{ input, stream string }

// pendingOutputs is what is queued for one stream: drop the stored positions first (clear), then set pos.
type pendingOutputs struct {
	clear bool
	pos   map[string]int64
}

// PutOutputPosition queues output's position on a stream of input (named by the source's stream key); the
// latest value per stream and output is committed by the writer goroutine with the other queued changes. It
// never waits for the disk.
func (db *DB) PutOutputPosition(input, stream, output string, pos int64) {
	if !db.writable(input, "put output position") {
		return
	}
	k := outputsKey{input, stream}
	db.mu.Lock()
	p := db.pending.outputs[k]
	if p.pos == nil {
		p.pos = make(map[string]int64, 2)
	}
	p.pos[output] = pos
	db.pending.outputs[k] = p
	db.mu.Unlock()
}

// ClearOutputPositions queues the removal of a stream's per-output positions: its committed position caught up
// with every output. Committing it costs no page write when nothing is stored.
func (db *DB) ClearOutputPositions(input, stream string) {
	if !db.writable(input, "clear output positions") {
		return
	}
	k := outputsKey{input, stream}
	db.mu.Lock()
	p := db.pending.outputs[k]
	clear(p.pos) // kept: outputs acknowledging in step put and clear a stream by turns, so it is reused
	p.clear = true
	db.pending.outputs[k] = p
	db.mu.Unlock()
}

// DeleteOutputPositions queues the removal of the per-output positions of every stream of input whose key starts
// with prefix: the source forgot those streams (a file gone longer than clean_removed_after). Positions queued
// for such streams after this call are kept.
func (db *DB) DeleteOutputPositions(input, prefix string) {
	if !db.writable(input, "delete output positions") {
		return
	}
	db.mu.Lock()
	for k := range db.pending.outputs {
		if k.input == input && strings.HasPrefix(k.stream, prefix) {
			delete(db.pending.outputs, k)
		}
	}
	db.pending.outputPrefixes[outputsKey{input, prefix}] = struct{}{}
	db.mu.Unlock()
}

// MoveOutputPositions moves a stream's committed per-output positions from one key to another at once, in a
// transaction of its own: a stream reads its positions committed (OutputPositions), and the stream under the new
// key may read them before the writer's next commit. A source calls it when a stream goes on under another key
// (rare: a copytruncate copy found after a restart), so the disk write it waits for costs little.
func (db *DB) MoveOutputPositions(input, from, to string) error {
	if !db.writable(input, "move output positions") {
		return nil
	}
	db.commitMu.Lock()
	defer db.commitMu.Unlock()
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOutputs)
		if b == nil {
			return nil
		}
		fromKey := appendOutputsKey(nil, input, from)
		v := b.Get(fromKey)
		if v == nil {
			return nil
		}
		if err := b.Put(appendOutputsKey(nil, input, to), slices.Clone(v)); err != nil {
			return err
		}
		return b.Delete(fromKey)
	})
	if err != nil {
		return fmt.Errorf("move output positions of input %s: %w", input, err)
	}
	return nil
}

// OutputPositions returns the committed per-output positions of one stream, by output name; nil when it has
// none. Queued changes are not included.
func (db *DB) OutputPositions(input, stream string) (map[string]int64, error) {
	var out map[string]int64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOutputs)
		if b == nil {
			return nil
		}
		v := b.Get(appendOutputsKey(nil, input, stream))
		if v == nil {
			return nil
		}
		var err error
		out, err = decodeOutputPositions(v)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read output positions of input %s: %w", input, err)
	}
	return out, nil
}

// OutputPositionStreams counts the streams of input with per-output positions committed ("" counts every
// input's), for `registry reset` and tests.
func (db *DB) OutputPositionStreams(input string) (int, error) {
	n := 0
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOutputs)
		if b == nil {
			return nil
		}
		n = len(keysWithPrefix(b, inputPrefix(input)))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count output positions: %w", err)
	}
	return n, nil
}

// applyOutputs writes the queued per-output positions of batch into tx: prefix deletions first, then each
// stream's clear and positions, merged over what is stored. The bucket is created only when a position is put.
func applyOutputs(tx *bolt.Tx, batch *changes) error {
	b := tx.Bucket(bucketOutputs)
	if b != nil {
		for k := range batch.outputPrefixes {
			if err := deletePrefix(b, appendOutputsKey(nil, k.input, k.stream)); err != nil {
				return fmt.Errorf("delete output positions of input %s: %w", k.input, err)
			}
		}
	}
	for k, p := range batch.outputs {
		key := appendOutputsKey(nil, k.input, k.stream)
		if len(p.pos) == 0 {
			if p.clear && b != nil {
				if err := b.Delete(key); err != nil {
					return fmt.Errorf("clear output positions of input %s: %w", k.input, err)
				}
			}
			continue
		}
		if b == nil {
			var err error
			if b, err = tx.CreateBucketIfNotExists(bucketOutputs); err != nil {
				return fmt.Errorf("create bucket %s: %w", bucketOutputs, err)
			}
		}
		pos := p.pos
		if v := b.Get(key); v != nil && !p.clear {
			stored, err := decodeOutputPositions(v)
			if err != nil {
				return fmt.Errorf("output positions of input %s: %w", k.input, err)
			}
			maps.Copy(stored, p.pos)
			pos = stored
		}
		if err := b.Put(key, appendOutputPositions(nil, pos)); err != nil {
			return fmt.Errorf("put output positions of input %s: %w", k.input, err)
		}
	}
	return nil
}

// deleteOutputsOf removes every per-output position of input (registry reset).
func deleteOutputsOf(tx *bolt.Tx, input string) error {
	b := tx.Bucket(bucketOutputs)
	if b == nil {
		return nil
	}
	if err := deletePrefix(b, append([]byte(input), 0)); err != nil {
		return fmt.Errorf("delete output positions of input %s: %w", input, err)
	}
	return nil
}

// clearOutputs drops the bucket (Import replaces every position, so the outputs' positions go with them).
func clearOutputs(tx *bolt.Tx) error {
	if tx.Bucket(bucketOutputs) == nil {
		return nil
	}
	if err := tx.DeleteBucket(bucketOutputs); err != nil {
		return fmt.Errorf("clear bucket %s: %w", bucketOutputs, err)
	}
	return nil
}

func appendOutputsKey(dst []byte, input, stream string) []byte {
	dst = append(dst, input...)
	dst = append(dst, 0)
	return append(dst, stream...)
}

// appendOutputPositions encodes pos sorted by output name, so equal maps give equal bytes.
func appendOutputPositions(dst []byte, pos map[string]int64) []byte {
	dst = append(dst, outputPositionsV1)
	for _, name := range slices.Sorted(maps.Keys(pos)) {
		dst = binary.AppendUvarint(dst, uint64(len(name)))
		dst = append(dst, name...)
		dst = binary.AppendVarint(dst, pos[name])
	}
	return dst
}

// decodeOutputPositions decodes a value of appendOutputPositions, copying out of v (bbolt memory).
func decodeOutputPositions(v []byte) (map[string]int64, error) {
	if len(v) == 0 {
		return nil, errCorrupt
	}
	if v[0] != outputPositionsV1 {
		return nil, fmt.Errorf("output positions encoding %d: %w", v[0], ErrFormat)
	}
	out := make(map[string]int64)
	d := decoder{b: v[1:]}
	for len(d.b) > 0 && d.err == nil {
		name := string(d.bytes(d.uvarint()))
		out[name] = d.varint()
	}
	if d.err != nil {
		return nil, d.err
	}
	return out, nil
}

// requeueOutputs merges older queued positions (a failed commit) under c's newer ones: a newer clear, prefix or
// input deletion drops the older values; otherwise newer values win per output.
func (c *changes) requeueOutputs(older *changes) {
	for k, o := range older.outputs {
		if _, ok := c.inputs[k.input]; ok {
			continue
		}
		if c.prefixDeleted(k) {
			continue
		}
		n, ok := c.outputs[k]
		switch {
		case !ok:
			c.outputs[k] = o
		case n.clear:
		default:
			merged := maps.Clone(o.pos)
			if merged == nil {
				merged = make(map[string]int64, len(n.pos))
			}
			maps.Copy(merged, n.pos)
			c.outputs[k] = pendingOutputs{clear: o.clear, pos: merged}
		}
	}
	for k := range older.outputPrefixes {
		if _, ok := c.inputs[k.input]; !ok {
			c.outputPrefixes[k] = struct{}{}
		}
	}
}

// prefixDeleted reports whether a prefix deletion queued in c covers stream k.
func (c *changes) prefixDeleted(k outputsKey) bool {
	for p := range c.outputPrefixes {
		if p.input == k.input && strings.HasPrefix(k.stream, p.stream) {
			return true
		}
	}
	return false
}
