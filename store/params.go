package store

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"

	"github.com/flickerlog/flicker/internal/durable"
	"github.com/flickerlog/flicker/internal/redact"
)

// An API source's params may hold keys (api_key, client_secret), and the registry travels further than the config
// (every snapshot and history slot, exports attached to tickets). So a cursor keeps only a keyed hash of the params,
// HMAC-SHA256(params key, params), which is all the source needs: to notice that they changed.
//
// The params key is 32 random bytes made with the registry (or when this build first opens an older one), kept in
// the meta bucket, and so in every snapshot and in exports (an import adopts it, so that its sums still match).
// What it protects: a sum does not reveal a high-entropy secret (an API key, a client secret, a token) to whoever
// reads the registry, and the same params give unrelated sums in two registries (no precomputed tables, no linking
// of registries). What it does not protect: the key lies next to the sums, so whoever reads the registry can test
// guesses offline, and a low-entropy secret (a short password, a value out of a small set) can be found by trying
// candidates. A key kept outside the registry would cover that too, at the price of a key to manage, and of every
// walk starting over when it is lost.
type paramsKey [32]byte

var keyParams = []byte("params_key")

func newParamsKey() *paramsKey {
	var k paramsKey
	_, _ = rand.Read(k[:]) // crypto/rand.Read never fails on supported platforms
	return &k
}

// readParamsKey returns the key in the meta bucket; nil when there is none.
func readParamsKey(mb *bolt.Bucket) (*paramsKey, error) {
	v := mb.Get(keyParams)
	if v == nil {
		return nil, nil
	}
	var k paramsKey
	if len(v) != len(k) {
		return nil, fmt.Errorf("meta %s has %d bytes, want %d: %w", keyParams, len(v), len(k), errCorrupt)
	}
	copy(k[:], v)
	return &k, nil
}

func parseParamsKey(s string) (*paramsKey, error) {
	var k paramsKey
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(k) {
		return nil, fmt.Errorf("params_key must be %d hex digits", 2*len(k))
	}
	copy(k[:], b)
	return &k, nil
}

// sum is the hex HMAC of params in a canonical encoding: names sorted, each name and value length-prefixed, so
// that no two different maps encode alike. No params and empty params give the same sum.
func (k *paramsKey) sum(params map[string]string) string {
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	slices.Sort(names)
	m := hmac.New(sha256.New, k[:])
	var buf []byte
	for _, n := range names {
		buf = binary.AppendUvarint(buf[:0], uint64(len(n)))
		buf = append(buf, n...)
		buf = binary.AppendUvarint(buf, uint64(len(params[n])))
		buf = append(buf, params[n]...)
		m.Write(buf)
	}
	return hex.EncodeToString(m.Sum(nil))
}

// ParamsSum returns the keyed hash of an API source's params that its cursor stores (CursorRecord.ParamsSum):
// equal params give equal sums in this registry, and a sum does not reveal them.
func (db *DB) ParamsSum(params map[string]string) string { return db.key.Load().sum(params) }

// sealV1 turns a v1 cursor into today's form: its params become their sum, and their secret values (the params
// whose name redact.SecretName reports) are stripped from its next link, as the API source does for the links
// it saves.
func sealV1(input string, c cursorJSONV1, key *paramsKey) CursorRecord {
	secrets := map[string]string{}
	for name, v := range c.Params {
		if v != "" && redact.SecretName(name) {
			secrets[v] = redact.ParamRef(name)
		}
	}
	r := CursorRecord{
		Input: input, Cursor: redact.StripQuery(c.Cursor, secrets), LastTime: utc(c.LastTime),
		RecentIDs: c.RecentIDs, Endpoint: c.Endpoint,
	}
	if c.Endpoint != "" { // a record without endpoint never had its params checked; keep it that way
		r.ParamsSum = key.sum(c.Params)
	}
	return r
}

// sealCursors rewrites every v1 cursor in tx as v2 (sealV1) and returns how many it rewrote.
func sealCursors(tx *bolt.Tx, key *paramsKey) (int, error) {
	b := tx.Bucket(bucketCursors)
	var keys, values [][]byte
	err := b.ForEach(func(k, v []byte) error {
		if len(v) == 0 || v[0] != cursorRecordV1 {
			return nil
		}
		r, err := decodeCursorValue(string(k), v, key)
		if err != nil {
			return fmt.Errorf("cursor of input %s: %w", k, err)
		}
		nv, err := appendCursorValue(nil, &r)
		if err != nil {
			return fmt.Errorf("cursor of input %s: %w", k, err)
		}
		keys, values = append(keys, slices.Clone(k)), append(values, nv)
		return nil
	})
	if err != nil {
		return 0, err
	}
	for i := range keys {
		if err := b.Put(keys[i], values[i]); err != nil {
			return 0, fmt.Errorf("put sealed cursor: %w", err)
		}
	}
	return len(keys), nil
}

// hasV1Cursors reports whether tx holds a cursor in clear.
func hasV1Cursors(tx *bolt.Tx) bool {
	b := tx.Bucket(bucketCursors)
	if b == nil {
		return false
	}
	found := false
	_ = b.ForEach(func(_, v []byte) error {
		found = found || (len(v) > 0 && v[0] == cursorRecordV1)
		return nil
	})
	return found
}

// compact rewrites the registry at path into a new file with only its live pages and returns it open: bbolt
// keeps the bytes of rewritten records in free pages, which snapshots copy too, so sealing cursors alone would
// leave their secrets in the file. The file lock is released between closing the old file and opening the new
// one; Open is the only caller, before anyone else uses the registry.
func compact(path string, src *bolt.DB, opts *bolt.Options, noSync bool, log zerolog.Logger) (*bolt.DB, error) {
	tmp := path + ".compact"
	_ = os.Remove(tmp) // a leftover of a crash during a previous compaction
	// Without NoSync, each of Compact's commits is fsync'd: the new file is durable before it replaces the old.
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{NoSync: noSync, NoGrowSync: noSync, NoFreelistSync: true})
	if err != nil {
		return src, fmt.Errorf("compact: %w", err)
	}
	if err := bolt.Compact(dst, src, 0); err != nil {
		_ = dst.Close()
		_ = os.Remove(tmp)
		return src, fmt.Errorf("compact: %w", err)
	}
	if err := dst.Close(); err != nil {
		_ = os.Remove(tmp)
		return src, fmt.Errorf("compact: %w", err)
	}
	if err := src.Close(); err != nil {
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("compact: close: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("compact: %w", err)
	}
	if !noSync {
		if err := durable.SyncDir(filepath.Dir(path)); err != nil {
			return nil, fmt.Errorf("compact: %w", err)
		}
	}
	bdb, err := bolt.Open(path, 0o600, opts)
	if err != nil {
		return nil, fmt.Errorf("compact: reopen: %w", err)
	}
	log.Info().Msg("registry compacted: the API params stored in clear by an older flicker are gone from the file")
	return bdb, nil
}
