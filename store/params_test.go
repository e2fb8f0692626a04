package store_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/flickerlog/flicker/store"
)

// TestParamsSum: the sum tells params apart (a changed value, a moved value, one more param) and stays the same
// for the same params across reopens; another registry gives another sum.
func TestParamsSum(t *testing.T) {
	path := tempPath(t)
	db := openT(t, path, quiet)
	base := map[string]string{"api_key": "SECRETVALUE123", "limit": "100"}
	sum := db.ParamsSum(base)
	if strings.Contains(sum, "SECRETVALUE123") || len(sum) != 64 {
		t.Fatalf("sum %q: want 64 hex digits without the value", sum)
	}
	for name, other := range map[string]map[string]string{
		"changed secret": {"api_key": "SECRETVALUE124", "limit": "100"},
		"changed limit":  {"api_key": "SECRETVALUE123", "limit": "1000"},
		"moved value":    {"api_key": "SECRETVALUE123limit", "": "100"},
		"one more":       {"api_key": "SECRETVALUE123", "limit": "100", "filter": "x"},
		"none":           nil,
	} {
		if db.ParamsSum(other) == sum {
			t.Errorf("%s: same sum as the original params", name)
		}
	}
	if db.ParamsSum(nil) != db.ParamsSum(map[string]string{}) {
		t.Error("no params and empty params differ")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if again := openT(t, path, quiet).ParamsSum(base); again != sum {
		t.Fatalf("after reopening: sum %s, want %s", again, sum)
	}
	if openT(t, tempPath(t), quiet).ParamsSum(base) == sum {
		t.Fatal("two registries give the same sum: the key is not per registry")
	}
}

// legacyCursor is a cursor as builds before the params sum stored it: encoding 1, params in clear, and a next
// link echoing the secret param.
func legacyCursor(params map[string]string, next string) []byte {
	p, _ := json.Marshal(map[string]any{"cursor": next, "last_time": "2026-11-21T10:00:00Z",
		"recent_ids": []string{"u1"}, "endpoint": "https://api.example.com/audit", "params": params})
	return append([]byte{1}, p...)
}

// writeLegacy turns a registry into one written by the previous build: no params key, one cursor in clear.
func writeLegacy(t *testing.T, path string, value []byte) {
	t.Helper()
	if err := openT(t, path, quiet).Close(); err != nil {
		t.Fatal(err)
	}
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket([]byte("meta")).Delete([]byte("params_key")); err != nil {
			return err
		}
		return tx.Bucket([]byte("cursors")).Put([]byte("audit"), value)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := bdb.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLegacyCursorSealed: opening a registry whose cursor has its params in clear keeps the cursor usable (its
// sum equals the sum of the same params, so the source sees no change), strips the secret from its next link,
// keeps seq, and leaves no byte of the secret in the file (compacted: bbolt keeps rewritten values in free
// pages). Read-only (show, export), the same cursor is shown sealed and the file is not touched.
func TestLegacyCursorSealed(t *testing.T) {
	const secret = "SECRETVALUE123"
	params := map[string]string{"api_key": secret, "limit": "100"}
	next := "https://api.example.com/audit?api_key=" + secret + "&page_token=pt1&limit=100"
	path := tempPath(t)
	writeLegacy(t, path, legacyCursor(params, next))
	raw, err := os.ReadFile(path)
	if err != nil || !bytes.Contains(raw, []byte(secret)) {
		t.Fatalf("the legacy registry should hold the secret (err %v)", err)
	}

	ro := openT(t, path, store.Options{ReadOnly: true})
	c, _, err := ro.Cursor("audit")
	if err != nil || strings.Contains(c.Cursor, secret) || c.ParamsSum != ro.ParamsSum(params) {
		t.Fatalf("read-only cursor = %+v, %v; want it sealed", c, err)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, raw) {
		t.Fatal("a read-only open changed the file")
	}

	seq := func() uint64 {
		db := openT(t, path, store.Options{ReadOnly: true})
		defer db.Close()
		return db.Meta().Seq
	}()
	db := openT(t, path, quiet)
	c, ok, err := db.Cursor("audit")
	if err != nil || !ok {
		t.Fatalf("Cursor = %v, %v", ok, err)
	}
	want := store.CursorRecord{Input: "audit",
		Cursor:   "https://api.example.com/audit?api_key={flicker-secret:params.api_key}&page_token=pt1&limit=100",
		LastTime: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC), RecentIDs: []string{"u1"},
		Endpoint: "https://api.example.com/audit", ParamsSum: db.ParamsSum(params)}
	if c.Cursor != want.Cursor || c.ParamsSum != want.ParamsSum || !c.LastTime.Equal(want.LastTime) ||
		c.Endpoint != want.Endpoint || len(c.RecentIDs) != 1 {
		t.Fatalf("sealed cursor = %+v\nwant %+v", c, want)
	}
	if db.ParamsSum(map[string]string{"api_key": "other", "limit": "100"}) == c.ParamsSum {
		t.Fatal("a changed param gives the sealed sum")
	}
	if got := db.Meta().Seq; got != seq {
		t.Fatalf("seq after sealing = %d, want %d (the same state)", got, seq)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if raw, err := os.ReadFile(path); err != nil || bytes.Contains(raw, []byte(secret)) {
		t.Fatalf("the registry file still holds the secret after sealing (err %v)", err)
	}
	db = openT(t, path, quiet)
	if c2, _, err := db.Cursor("audit"); err != nil || c2.ParamsSum != c.ParamsSum {
		t.Fatalf("after reopening: %+v, %v; want the same sum (the key was kept)", c2, err)
	}
}

// TestImportVersion2Seals: a version 2 export (params in clear, secrets redacted) imports sealed.
func TestImportVersion2Seals(t *testing.T) {
	doc := `{"format":"flicker-registry","version":2,"meta":{},"files":[],"cursors":[{"input":"audit",
		"cursor":"https://h/p?after=a1&api_key=REDACTED","last_time":"2026-11-21T10:00:00Z","recent_ids":[],
		"endpoint":"https://h/p","params":{"api_key":"REDACTED","limit":"5"}}]}`
	db := openT(t, tempPath(t), quiet)
	if err := db.Import(strings.NewReader(doc)); err != nil {
		t.Fatal(err)
	}
	c, _, err := db.Cursor("audit")
	if err != nil || c.ParamsSum != db.ParamsSum(map[string]string{"api_key": "REDACTED", "limit": "5"}) ||
		c.Cursor != "https://h/p?after=a1&api_key={flicker-secret:params.api_key}" {
		t.Fatalf("imported cursor = %+v, %v", c, err)
	}
}
