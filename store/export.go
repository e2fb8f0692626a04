package store

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Export format: the JSON written by Export and read by Import. Its version changes when its fields change
// meaning; Import reads this version and the older ones, and rejects newer versions. Version 2 added birth_time
// and keys files by device as well as inode. Version 3 replaced each cursor's params (in clear, secrets redacted)
// with params_sum, added params_key (params.go), and stopped redacting cursors by parameter name: their secret
// values are placeholders already, so page_token and next_token cursors survive an export and import.
const (
	ExportFormat  = "flicker-registry"
	ExportVersion = 3
)

type exportDoc struct {
	Format  string     `json:"format"`
	Version int        `json:"version"`
	Meta    exportMeta `json:"meta"`
	// ParamsKey is the key of the cursors' params sums (hex): an import adopts it, so that the sums still match
	// the configuration. It is no secret of the user's; see params.go for what it exposes.
	ParamsKey string         `json:"params_key,omitempty"`
	Files     []exportFile   `json:"files"`
	Cursors   []exportCursor `json:"cursors"`
}

type exportMeta struct {
	FormatVersion uint64    `json:"format_version"`
	InstanceID    string    `json:"instance_id"`
	Epoch         uint64    `json:"epoch"`
	Seq           uint64    `json:"seq"`
	Updated       time.Time `json:"updated"`
}

type exportFile struct {
	Input          string    `json:"input"`
	Inode          uint64    `json:"inode"`
	Device         uint64    `json:"device"`
	Path           string    `json:"path"`
	Offset         int64     `json:"offset"`
	Size           int64     `json:"size"`
	Generation     uint32    `json:"generation"`
	Fingerprint    string    `json:"fingerprint"` // hex sha256
	FingerprintLen int       `json:"fingerprint_len"`
	LastSeen       time.Time `json:"last_seen"`
	BirthTime      time.Time `json:"birth_time"` // zero (year 1) when unknown; absent in version 1
}

type exportCursor struct {
	Input     string    `json:"input"`
	Cursor    string    `json:"cursor"`
	LastTime  time.Time `json:"last_time"`
	RecentIDs []string  `json:"recent_ids"`
	Endpoint  string    `json:"endpoint"`
	ParamsSum string    `json:"params_sum,omitempty"`
	// Params is what versions 1 and 2 had instead of ParamsSum (secret values redacted): an import seals them.
	Params map[string]string `json:"params,omitempty"`
}

// Export writes the committed registry as indented JSON:
//
//	{"format":"flicker-registry","version":3,"meta":{...},"params_key":"...","files":[...],"cursors":[...]}
//
// Files are ordered by input, device, then inode, cursors by input, map keys sorted, so the same state gives the same bytes.
// An export holds no secret (cursors hold none; credentials in URLs are redacted, see redact.go), so it can be
// shown or attached to a ticket, and importing it back restores every position and cursor exactly.
func (db *DB) Export(w io.Writer) error {
	// One read transaction, so that meta, files and cursors are one committed state.
	var (
		m       Meta
		files   []FileRecord
		cursors []CursorRecord
	)
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		if m, err = readMeta(tx.Bucket(bucketMeta)); err != nil {
			return err
		}
		if files, err = allFiles(tx); err != nil {
			return err
		}
		cursors, err = allCursors(tx, db.key.Load())
		return err
	})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	doc := exportDoc{
		Format: ExportFormat, Version: ExportVersion,
		Meta: exportMeta(m), ParamsKey: hex.EncodeToString(db.key.Load()[:]),
		Files: make([]exportFile, 0, len(files)), Cursors: make([]exportCursor, 0, len(cursors)),
	}
	for _, f := range files {
		doc.Files = append(doc.Files, exportFile{
			Input: f.Input, Inode: f.Inode, Device: f.Device, Path: f.Path, Offset: f.Offset, Size: f.Size,
			Generation: f.Generation, Fingerprint: hex.EncodeToString(f.Fingerprint[:]),
			FingerprintLen: f.FingerprintLen, LastSeen: f.LastSeen, BirthTime: f.Birth,
		})
	}
	slices.SortFunc(doc.Files, func(a, b exportFile) int {
		return cmp.Or(cmp.Compare(a.Input, b.Input), cmp.Compare(a.Device, b.Device), cmp.Compare(a.Inode, b.Inode))
	})
	for _, c := range cursors {
		c = RedactedCursor(c)
		if c.RecentIDs == nil {
			c.RecentIDs = []string{}
		}
		doc.Cursors = append(doc.Cursors, exportCursor{
			Input: c.Input, Cursor: c.Cursor, LastTime: c.LastTime, RecentIDs: c.RecentIDs, Endpoint: c.Endpoint,
			ParamsSum: c.ParamsSum,
		})
	}
	slices.SortFunc(doc.Cursors, func(a, b exportCursor) int { return cmp.Compare(a.Input, b.Input) })
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // URLs in cursors stay readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// Import replaces every file record and cursor with those of an export, in one commit. Changes queued before the
// call are discarded. Meta keeps this registry's instance id; epoch becomes the larger of both and seq the larger
// plus one, so seq never goes back.
func (db *DB) Import(r io.Reader) error {
	doc, err := decodeExport(r)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	// The import's commit sets seq to this plus one: at the largest seq it would wrap to 0 and go back.
	if doc.Meta.Seq == math.MaxUint64 {
		return fmt.Errorf("import: meta.seq %d leaves no room for the import's commit: lower it", doc.Meta.Seq)
	}
	files := make([]FileRecord, 0, len(doc.Files))
	for i, f := range doc.Files {
		rec, err := f.record()
		if err != nil {
			return fmt.Errorf("import: files[%d] (input %q, inode %d, path %q): %w", i, f.Input, f.Inode, f.Path, err)
		}
		files = append(files, rec)
	}
	key := db.key.Load()
	if doc.ParamsKey != "" {
		if key, err = parseParamsKey(doc.ParamsKey); err != nil {
			return fmt.Errorf("import: %w", err)
		}
	}
	cursors := make([]CursorRecord, 0, len(doc.Cursors))
	for i, c := range doc.Cursors {
		if !validInput(c.Input) {
			return fmt.Errorf("import: cursors[%d]: input name %q is empty or has a NUL byte", i, c.Input)
		}
		if doc.Version < 3 {
			cursors = append(cursors, sealV1(c.Input, cursorJSONV1{Cursor: c.Cursor, LastTime: c.LastTime,
				RecentIDs: c.RecentIDs, Endpoint: c.Endpoint, Params: c.Params}, key))
			continue
		}
		if c.Params != nil {
			return fmt.Errorf("import: cursors[%d] (input %q): params is a field of export versions 1 and 2; "+
				"version 3 has params_sum", i, c.Input)
		}
		cursors = append(cursors, CursorRecord{Input: c.Input, Cursor: c.Cursor, LastTime: utc(c.LastTime),
			RecentIDs: c.RecentIDs, Endpoint: c.Endpoint, ParamsSum: c.ParamsSum})
	}
	if db.opts.ReadOnly {
		return ErrReadOnly
	}
	db.mu.Lock()
	db.pending.reset()
	db.mu.Unlock()
	err = db.writeTx(func(tx *bolt.Tx) (Meta, error) {
		return replaceContent(tx, files, cursors, key, doc.Meta)
	}, nil)
	if err != nil {
		return err
	}
	db.key.Store(key)
	return nil
}

func decodeExport(r io.Reader) (*exportDoc, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	// Check format and version first, so that a newer export says so instead of naming an unknown field.
	var head struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("not a registry export: %w", err)
	}
	if head.Format != ExportFormat {
		return nil, fmt.Errorf("not a registry export: format is %q, want %q", head.Format, ExportFormat)
	}
	if head.Version < 1 || head.Version > ExportVersion {
		return nil, fmt.Errorf("registry export version %d is not supported (this flicker reads versions 1 to %d): %w",
			head.Version, ExportVersion, ErrFormat)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var doc exportDoc
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("registry export: %w", err)
	}
	return &doc, nil
}

func (f exportFile) record() (FileRecord, error) {
	r := FileRecord{
		Input: f.Input, Inode: f.Inode, Device: f.Device, Path: f.Path, Offset: f.Offset, Size: f.Size,
		Generation: f.Generation, FingerprintLen: f.FingerprintLen, LastSeen: f.LastSeen, Birth: utc(f.BirthTime),
	}
	if !validInput(f.Input) {
		return r, fmt.Errorf("input name %q is empty or has a NUL byte", f.Input)
	}
	if f.Offset < 0 || f.Size < 0 || f.FingerprintLen < 0 {
		return r, errors.New("offset, size and fingerprint_len must not be negative")
	}
	// A fingerprint covers at most the first 1 KiB; a record that claims more, or a length without the hash,
	// could never match a file. fingerprint_len 0 means unknown: the file source matches such a record by inode
	// and offset and fills it in.
	if f.FingerprintLen > MaxFingerprintLen {
		return r, fmt.Errorf("fingerprint_len %d is above %d, the most a fingerprint covers", f.FingerprintLen,
			MaxFingerprintLen)
	}
	if f.FingerprintLen > 0 && f.Fingerprint == "" {
		return r, fmt.Errorf("fingerprint_len %d without a fingerprint: set both, or fingerprint_len 0 (unknown)",
			f.FingerprintLen)
	}
	if f.Fingerprint != "" {
		fp, err := hex.DecodeString(f.Fingerprint)
		if err != nil || len(fp) != len(r.Fingerprint) {
			return r, fmt.Errorf("fingerprint must be %d hex digits", 2*len(r.Fingerprint))
		}
		copy(r.Fingerprint[:], fp)
	}
	return r, nil
}

func replaceContent(tx *bolt.Tx, files []FileRecord, cursors []CursorRecord, key *paramsKey,
	meta exportMeta) (Meta, error) {
	for _, name := range [][]byte{bucketFiles, bucketCursors} {
		if err := tx.DeleteBucket(name); err != nil {
			return Meta{}, fmt.Errorf("clear bucket %s: %w", name, err)
		}
		if _, err := tx.CreateBucket(name); err != nil {
			return Meta{}, fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	if err := clearOutputs(tx); err != nil {
		return Meta{}, err
	}
	if err := clearOutputIDs(tx); err != nil {
		return Meta{}, err
	}
	fb, cb := tx.Bucket(bucketFiles), tx.Bucket(bucketCursors)
	for i := range files {
		k := appendFileKey(nil, files[i].Input, files[i].Device, files[i].Inode)
		if err := fb.Put(k, appendFileValue(nil, &files[i])); err != nil {
			return Meta{}, fmt.Errorf("put file record: %w", err)
		}
	}
	if err := tx.Bucket(bucketMeta).Put(keyParams, key[:]); err != nil {
		return Meta{}, fmt.Errorf("put meta %s: %w", keyParams, err)
	}
	for _, c := range cursors {
		v, err := appendCursorValue(nil, &c)
		if err != nil {
			return Meta{}, fmt.Errorf("encode cursor of input %s: %w", c.Input, err)
		}
		if err := cb.Put([]byte(c.Input), v); err != nil {
			return Meta{}, fmt.Errorf("put cursor: %w", err)
		}
	}
	return bumpSeq(tx, func(m *Meta) error {
		m.Epoch = max(m.Epoch, meta.Epoch)
		m.Seq = max(m.Seq, meta.Seq)
		return nil
	})
}
