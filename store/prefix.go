package store

import (
	"bytes"

	bolt "go.etcd.io/bbolt"
)

// inputPrefix is how every key of input begins in the files, outputs and output ids buckets: its name and the
// 0x00 separator. "" gives nil, which every key begins with (all inputs).
func inputPrefix(input string) []byte {
	if input == "" {
		return nil
	}
	return append([]byte(input), 0)
}

// keysWithPrefix returns copies of b's keys that begin with prefix, in order: safe to delete after the walk (a
// bbolt cursor must not be used across deletions).
func keysWithPrefix(b *bolt.Bucket, prefix []byte) [][]byte {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	return keys
}

// deletePrefix deletes b's keys that begin with prefix.
func deletePrefix(b *bolt.Bucket, prefix []byte) error {
	for _, k := range keysWithPrefix(b, prefix) {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
