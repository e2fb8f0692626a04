package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"
)

// Format 1 is the layout of flicker's first prototype, which only ever tailed files:
//
//	one bucket "registry", no meta bucket
//	key:   input name + 0x00 + file path
//	value: JSON {"path": string, "offset": int64, "inode": uint64}
//
// It had no instance id, no seq, no fingerprints and no cursors. Migration to the current format runs in one bbolt
// transaction on Open (a crash leaves the format 1 file as it was):
//   - each entry becomes a FileRecord keyed by (input, device 0, inode), with Device 0 and FingerprintLen 0
//     (unknown; the file source matches such a record by inode and offset, fills device and fingerprint in and
//     saves it), Size 0, Generation 0 and LastSeen the migration time; the value's path wins over the key's when
//     both are set;
//   - two entries of one input with the same inode keep the larger offset (the prototype kept stale paths of
//     renamed files); entries that cannot be read are skipped with a warning, so the other inputs keep their
//     positions;
//   - the "registry" bucket is deleted, meta is created with a new instance id, epoch 0 and seq 1.
//
// Format 2 had today's buckets, but keyed file records by input + 0x00 + inode, with the device in a v1 value and
// no birth time. Migration to format 3 runs in one transaction on Open: every record is keyed by (input, device,
// inode) with a v2 value (birth time unknown) and keeps its position; a fingerprint length above 1024 (which
// format 2 imports accepted) becomes 0, unknown, matched as a format 1 record is. Records that cannot be read are
// skipped with a warning. Meta keeps its instance id, epoch and seq: the positions are the same state.
var bucketV1 = []byte("registry")

type recordV1 struct {
	Path   string `json:"path"`
	Offset int64  `json:"offset"`
	Inode  uint64 `json:"inode"`
}

// prepare brings the open file to the current format and returns its meta and params key: it creates the layout
// in an empty file, migrates formats 1 and 2, adds a params key to a registry without one and seals the cursors
// an older build stored with their params in clear (sealCursors; sealed says how many, and Open then compacts
// the file). It only writes when it has to, so an unknown format leaves the file untouched. Read-only, a registry
// without a params key gets one in memory only.
func prepare(bdb *bolt.DB, readOnly bool, log zerolog.Logger) (meta Meta, key *paramsKey, sealed int, err error) {
	var (
		version int
		inClear bool // v1 cursors to seal
	)
	err = bdb.View(func(tx *bolt.Tx) error {
		var err error
		if version, meta, err = inspect(tx); err != nil || version != FormatVersion {
			return err
		}
		inClear = hasV1Cursors(tx)
		key, err = readParamsKey(tx.Bucket(bucketMeta))
		return err
	})
	if err != nil {
		return Meta{}, nil, 0, err
	}
	switch {
	case version == FormatVersion && key != nil && !inClear:
		return meta, key, 0, nil
	case readOnly && version == FormatVersion:
		if key == nil {
			key = newParamsKey()
		}
		return meta, key, 0, nil
	case readOnly && version == 0:
		return Meta{}, nil, 0, fmt.Errorf("a bbolt file without buckets: %w", ErrNotRegistry)
	case readOnly:
		return Meta{}, nil, 0, fmt.Errorf("format version %d must be migrated: run flicker on it once (read-write): %w",
			version, ErrFormat)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		var err error
		switch version {
		case FormatVersion:
		case 0:
			meta, err = createLayout(tx, 0, time.Now())
		case 1:
			meta, err = migrateV1(tx, time.Now(), log)
		default:
			meta, err = migrateV2(tx, meta, log)
		}
		if err != nil {
			return err
		}
		mb := tx.Bucket(bucketMeta)
		if key, err = readParamsKey(mb); err != nil {
			return err
		}
		if key == nil {
			key = newParamsKey()
			if err := mb.Put(keyParams, key[:]); err != nil {
				return fmt.Errorf("put meta %s: %w", keyParams, err)
			}
		}
		// Meta keeps its seq: the positions are the same state (the replicator uploads once after every start).
		sealed, err = sealCursors(tx, key)
		return err
	})
	if err != nil {
		return Meta{}, nil, 0, err
	}
	if version != 0 && version != FormatVersion {
		log.Info().Int("from", version).Int("to", FormatVersion).Msg("registry migrated")
	}
	if sealed > 0 {
		log.Info().Int("cursors", sealed).Msg("api cursors sealed: their params are kept as a keyed hash, " +
			"secret values in next links as placeholders")
	}
	return meta, key, sealed, nil
}

// inspect finds the format version of the file: 0 for an empty file.
func inspect(tx *bolt.Tx) (int, Meta, error) {
	if mb := tx.Bucket(bucketMeta); mb != nil {
		m, err := readMeta(mb)
		if err != nil {
			return 0, Meta{}, err
		}
		switch {
		case m.FormatVersion > FormatVersion:
			return 0, Meta{}, fmt.Errorf("format version %d is newer than this flicker reads (%d): upgrade flicker: %w",
				m.FormatVersion, FormatVersion, ErrFormat)
		case m.FormatVersion < 2:
			return 0, Meta{}, fmt.Errorf("unknown format version %d: %w", m.FormatVersion, ErrFormat)
		case tx.Bucket(bucketFiles) == nil || tx.Bucket(bucketCursors) == nil:
			return 0, Meta{}, fmt.Errorf("format version %d without files or cursors bucket: %w", m.FormatVersion,
				errCorrupt)
		}
		return int(m.FormatVersion), m, nil
	}
	if tx.Bucket(bucketV1) != nil {
		return 1, Meta{}, nil
	}
	var names []string
	_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		names = append(names, string(name))
		return nil
	})
	if len(names) > 0 {
		return 0, Meta{}, fmt.Errorf("a bbolt file of another program (buckets %q): %w", names, ErrNotRegistry)
	}
	return 0, Meta{}, nil
}

func migrateV1(tx *bolt.Tx, now time.Time, log zerolog.Logger) (Meta, error) {
	records := map[string]FileRecord{} // by string(file key)
	skipped := 0
	err := tx.Bucket(bucketV1).ForEach(func(k, v []byte) error {
		r, err := decodeV1(k, v)
		if err != nil {
			skipped++
			log.Warn().Err(err).Str("key", string(bytes.ToValidUTF8(k, []byte("?")))).
				Msg("format 1 registry entry skipped")
			return nil
		}
		r.LastSeen = now.UTC()
		key := string(appendFileKey(nil, r.Input, 0, r.Inode))
		if old, ok := records[key]; ok {
			log.Warn().Str("input", r.Input).Uint64("inode", r.Inode).Str("kept", pickV1(old, r).Path).
				Msg("format 1 registry has two paths for one inode; keeping the larger offset")
			r = pickV1(old, r)
		}
		records[key] = r
		return nil
	})
	if err != nil {
		return Meta{}, err
	}
	if err := tx.DeleteBucket(bucketV1); err != nil {
		return Meta{}, fmt.Errorf("delete format 1 bucket: %w", err)
	}
	meta, err := createLayout(tx, 1, now)
	if err != nil {
		return Meta{}, err
	}
	files := tx.Bucket(bucketFiles)
	for key, r := range records {
		if err := files.Put([]byte(key), appendFileValue(nil, &r)); err != nil {
			return Meta{}, fmt.Errorf("put migrated record: %w", err)
		}
	}
	if skipped > 0 {
		log.Warn().Int("skipped", skipped).Int("migrated", len(records)).Msg("format 1 registry entries skipped")
	}
	return meta, nil
}

func migrateV2(tx *bolt.Tx, meta Meta, log zerolog.Logger) (Meta, error) {
	var keys, values [][]byte
	skipped, unknownFP := 0, 0
	err := tx.Bucket(bucketFiles).ForEach(func(k, v []byte) error {
		r, err := decodeV2(k, v)
		if err != nil {
			skipped++
			log.Warn().Err(err).Str("key", string(bytes.ToValidUTF8(k, []byte("?")))).
				Msg("format 2 registry entry skipped")
			return nil
		}
		if r.FingerprintLen > MaxFingerprintLen {
			r.FingerprintLen, r.Fingerprint = 0, [32]byte{}
			unknownFP++
		}
		keys = append(keys, appendFileKey(nil, r.Input, r.Device, r.Inode))
		values = append(values, appendFileValue(nil, &r))
		return nil
	})
	if err != nil {
		return Meta{}, err
	}
	if err := tx.DeleteBucket(bucketFiles); err != nil {
		return Meta{}, fmt.Errorf("clear format 2 files bucket: %w", err)
	}
	files, err := tx.CreateBucket(bucketFiles)
	if err != nil {
		return Meta{}, fmt.Errorf("create bucket %s: %w", bucketFiles, err)
	}
	for i := range keys {
		if err := files.Put(keys[i], values[i]); err != nil {
			return Meta{}, fmt.Errorf("put migrated record: %w", err)
		}
	}
	if skipped > 0 || unknownFP > 0 {
		log.Warn().Int("skipped", skipped).Int("fingerprint_reset", unknownFP).Int("migrated", len(keys)).
			Msg("format 2 registry entries skipped or with an impossible fingerprint length")
	}
	meta.FormatVersion = FormatVersion
	return meta, putMeta(tx.Bucket(bucketMeta), meta)
}

// decodeV2 reads a format 2 file record: key input + 0x00 + inode, v1 value.
func decodeV2(k, v []byte) (FileRecord, error) {
	var r FileRecord
	var err error
	if r.Input, r.Inode, err = parseFileKeyV2(k); err != nil {
		return r, err
	}
	if len(v) > 0 && v[0] != fileRecordV1 {
		return r, fmt.Errorf("file record encoding %d in format 2: %w", v[0], errCorrupt)
	}
	return r, decodeFileValue(v, &r)
}

func decodeV1(k, v []byte) (FileRecord, error) {
	i := bytes.IndexByte(k, 0)
	if i <= 0 {
		return FileRecord{}, errors.New("key has no input name")
	}
	var old recordV1
	if err := json.Unmarshal(v, &old); err != nil {
		return FileRecord{}, fmt.Errorf("decode value: %w", err)
	}
	r := FileRecord{Input: string(k[:i]), Inode: old.Inode, Path: old.Path, Offset: old.Offset}
	if r.Path == "" {
		r.Path = string(k[i+1:])
	}
	if r.Offset < 0 {
		return FileRecord{}, fmt.Errorf("negative offset %d", r.Offset)
	}
	return r, nil
}

func pickV1(a, b FileRecord) FileRecord {
	if b.Offset > a.Offset || (b.Offset == a.Offset && b.Path < a.Path) {
		return b
	}
	return a
}
