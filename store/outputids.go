package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// Per-output event ids (engine.OutputIDs): for a stream whose positions are not the same from one run to the next
// (an API source's), the ids of the events an output accepted beyond the stream's committed position, one key per
// id, so that after a restart the output is not sent them again. Like the per-output positions, they live in a
// bucket of their own, created by the first commit that stores one (no format change; a build that does not know
// the bucket ignores it), are written through the coalescing writer in the same transactions as the cursors, and
// are part of every snapshot. Each stream has a nested bucket, removed when its last id goes, so a key is the id
// alone (an Okta uuid: 36 bytes).
//
//	outputids / input + 0x00 + stream key / id  ->  version byte + (uvarint len(output), output)...
var bucketOutputIDs = []byte("outputids")

const outputIDsV1 byte = 1

type outputIDKey struct{ input, stream, id string }

// pendingOutputID is what is queued for one id: drop the stored value first (clear), then add outputs.
type pendingOutputID struct {
	clear   bool
	outputs []string
}

// PutOutputID queues that output accepted the event id of a stream of input (named by the source's stream
// key); the writer goroutine commits it, merged with the outputs stored for the id, with the other queued
// changes. It never waits for the disk.
func (db *DB) PutOutputID(input, stream, id, output string) {
	if !db.writable(input, "put output id") {
		return
	}
	k := outputIDKey{input, stream, id}
	db.mu.Lock()
	p := db.pending.outputIDs[k]
	if !slices.Contains(p.outputs, output) {
		p.outputs = append(p.outputs, output)
	}
	db.pending.outputIDs[k] = p
	db.mu.Unlock()
}

// DeleteOutputID queues the removal of an id of a stream for every output: the stream's committed position passed
// it. An id put and deleted between two commits costs no page write.
func (db *DB) DeleteOutputID(input, stream, id string) {
	if !db.writable(input, "delete output id") {
		return
	}
	db.mu.Lock()
	db.pending.outputIDs[outputIDKey{input, stream, id}] = pendingOutputID{clear: true}
	db.mu.Unlock()
}

// KeepOutputIDsOf queues the removal of the ids of every stream of input but stream: for an input with a single
// stream whose key changed (an API source's endpoint), the ids under the former key can never match again.
// When no other stream of input has ids committed (the common case), nothing is queued and no commit follows.
// Ids queued for other streams of input after this call are kept.
func (db *DB) KeepOutputIDsOf(input, stream string) {
	if !db.writable(input, "keep output ids") {
		return
	}
	other := true // unreadable: queue the removal, the commit will tell
	_ = db.bolt.View(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketOutputIDs)
		if root == nil {
			other = false
			return nil
		}
		prefix, kept := append([]byte(input), 0), appendOutputsKey(nil, input, stream)
		c := root.Cursor()
		k, _ := c.Seek(prefix)
		for ; k != nil && bytes.HasPrefix(k, prefix) && bytes.Equal(k, kept); k, _ = c.Next() {
		}
		other = k != nil && bytes.HasPrefix(k, prefix)
		return nil
	})
	db.mu.Lock()
	for k := range db.pending.outputIDs {
		if k.input == input && k.stream != stream {
			delete(db.pending.outputIDs, k)
		}
	}
	if other {
		db.pending.outputIDKeeps[input] = stream
	}
	db.mu.Unlock()
}

// OutputIDs returns the committed ids of one stream, each with the outputs that accepted it; nil when it has
// none. Queued changes are not included.
func (db *DB) OutputIDs(input, stream string) (map[string][]string, error) {
	var out map[string][]string
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := streamIDs(tx, input, stream)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			outputs, err := decodeOutputIDValue(v)
			if err != nil {
				return fmt.Errorf("id %q: %w", k, err)
			}
			if out == nil {
				out = make(map[string][]string)
			}
			out[string(k)] = outputs
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read output ids of input %s: %w", input, err)
	}
	return out, nil
}

// OutputIDCount counts the committed ids of input ("" counts every input's), for tests and `registry reset`.
func (db *DB) OutputIDCount(input string) (int, error) {
	n := 0
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOutputIDs)
		if b == nil {
			return nil
		}
		for _, k := range keysWithPrefix(b, inputPrefix(input)) {
			if sb := b.Bucket(k); sb != nil {
				n += sb.Stats().KeyN
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count output ids: %w", err)
	}
	return n, nil
}

// applyOutputIDs writes the queued ids of batch into tx. Buckets are created only when an id is put, and a
// stream's bucket is removed with its last id.
func applyOutputIDs(tx *bolt.Tx, batch *changes) error {
	root := tx.Bucket(bucketOutputIDs)
	if root != nil {
		for input, keep := range batch.outputIDKeeps {
			if err := deleteOutputIDsOf(tx, input, keep); err != nil {
				return err
			}
		}
	}
	touched := make(map[outputsKey]*bolt.Bucket)
	for k, p := range batch.outputIDs {
		sk := outputsKey{k.input, k.stream}
		b, seen := touched[sk]
		if !seen && root != nil {
			b = root.Bucket(appendOutputsKey(nil, k.input, k.stream))
		}
		if len(p.outputs) == 0 {
			if p.clear && b != nil {
				if err := b.Delete([]byte(k.id)); err != nil {
					return fmt.Errorf("delete output id of input %s: %w", k.input, err)
				}
			}
			touched[sk] = b
			continue
		}
		if b == nil {
			var err error
			if root == nil {
				if root, err = tx.CreateBucketIfNotExists(bucketOutputIDs); err != nil {
					return fmt.Errorf("create bucket %s: %w", bucketOutputIDs, err)
				}
			}
			if b, err = root.CreateBucketIfNotExists(appendOutputsKey(nil, k.input, k.stream)); err != nil {
				return fmt.Errorf("create output ids bucket of input %s: %w", k.input, err)
			}
		}
		touched[sk] = b
		outputs := p.outputs
		if v := b.Get([]byte(k.id)); v != nil && !p.clear {
			stored, err := decodeOutputIDValue(v)
			if err != nil {
				return fmt.Errorf("output id of input %s: %w", k.input, err)
			}
			outputs = union(stored, p.outputs)
		}
		if err := b.Put([]byte(k.id), appendOutputIDValue(nil, outputs)); err != nil {
			return fmt.Errorf("put output id of input %s: %w", k.input, err)
		}
	}
	for sk, b := range touched {
		if b == nil {
			continue
		}
		if k, _ := b.Cursor().First(); k != nil {
			continue
		}
		if err := root.DeleteBucket(appendOutputsKey(nil, sk.input, sk.stream)); err != nil {
			return fmt.Errorf("delete output ids bucket of input %s: %w", sk.input, err)
		}
	}
	return nil
}

// streamIDs returns the bucket of a stream's ids; nil when it has none.
func streamIDs(tx *bolt.Tx, input, stream string) *bolt.Bucket {
	root := tx.Bucket(bucketOutputIDs)
	if root == nil {
		return nil
	}
	return root.Bucket(appendOutputsKey(nil, input, stream))
}

// deleteOutputIDsOf removes every id of input but those of stream keep (registry reset: keep is "", which no
// stream bucket is named).
func deleteOutputIDsOf(tx *bolt.Tx, input string, keep string) error {
	root := tx.Bucket(bucketOutputIDs)
	if root == nil {
		return nil
	}
	kept := appendOutputsKey(nil, input, keep)
	for _, name := range keysWithPrefix(root, inputPrefix(input)) {
		if keep != "" && bytes.Equal(name, kept) {
			continue
		}
		if err := root.DeleteBucket(name); err != nil {
			return fmt.Errorf("delete output ids of input %s: %w", input, err)
		}
	}
	return nil
}

// clearOutputIDs drops the bucket (Import replaces every cursor, so the ids beyond them go too).
func clearOutputIDs(tx *bolt.Tx) error {
	if tx.Bucket(bucketOutputIDs) == nil {
		return nil
	}
	if err := tx.DeleteBucket(bucketOutputIDs); err != nil {
		return fmt.Errorf("clear bucket %s: %w", bucketOutputIDs, err)
	}
	return nil
}

// appendOutputIDValue encodes outputs sorted, so equal sets give equal bytes.
func appendOutputIDValue(dst []byte, outputs []string) []byte {
	dst = append(dst, outputIDsV1)
	for _, name := range slices.Sorted(slices.Values(outputs)) {
		dst = binary.AppendUvarint(dst, uint64(len(name)))
		dst = append(dst, name...)
	}
	return dst
}

// decodeOutputIDValue decodes a value of appendOutputIDValue, copying out of v (bbolt memory).
func decodeOutputIDValue(v []byte) ([]string, error) {
	if len(v) == 0 {
		return nil, errCorrupt
	}
	if v[0] != outputIDsV1 {
		return nil, fmt.Errorf("output ids encoding %d: %w", v[0], ErrFormat)
	}
	var out []string
	d := decoder{b: v[1:]}
	for len(d.b) > 0 && d.err == nil {
		out = append(out, string(d.bytes(d.uvarint())))
	}
	if d.err != nil {
		return nil, d.err
	}
	return out, nil
}

// union returns the names in a or b, each once.
func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, name := range b {
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// requeueOutputIDs merges older queued ids (a failed commit) under c's newer ones: a newer deletion of the id or
// of its input, or a newer keep of another stream, wins; otherwise the outputs add up.
func (c *changes) requeueOutputIDs(older *changes) {
	for input, keep := range older.outputIDKeeps {
		if _, ok := c.inputs[input]; ok {
			continue
		}
		if _, ok := c.outputIDKeeps[input]; !ok {
			c.outputIDKeeps[input] = keep
		}
	}
	for k, o := range older.outputIDs {
		if _, ok := c.inputs[k.input]; ok {
			continue
		}
		if keep, ok := c.outputIDKeeps[k.input]; ok && keep != k.stream {
			continue
		}
		n, ok := c.outputIDs[k]
		switch {
		case !ok:
			c.outputIDs[k] = o
		case n.clear:
		default:
			c.outputIDs[k] = pendingOutputID{clear: o.clear, outputs: union(o.outputs, n.outputs)}
		}
	}
}
