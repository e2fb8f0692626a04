package store_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/flickerlog/flicker/store"
)

var update = flag.Bool("update", false, "rewrite the files in testdata")

// v1Entries is a format 1 registry (see migrate.go): key "input\x00path", JSON value.
var v1Entries = []struct{ key, value string }{
	{"app\x00/var/log/app.log", `{"path":"/var/log/app.log","offset":1200,"inode":11}`},
	{"app\x00/var/log/app.log.1", `{"path":"/var/log/app.log.1","offset":900,"inode":12}`},
	// A stale path of a renamed file: same inode as app.log.1 with a smaller offset.
	{"app\x00/var/log/old.log", `{"path":"/var/log/old.log","offset":300,"inode":12}`},
	// The path only in the key.
	{"nginx\x00/var/log/nginx/access.log", `{"offset":77,"inode":21}`},
	{"nginx\x00/var/log/nginx/broken.log", `{"offset":`},
	{"no-separator", `{"path":"/x","offset":1,"inode":1}`},
}

func writeV1(t *testing.T, path string) {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("registry"))
		if err != nil {
			return err
		}
		for _, e := range v1Entries {
			if err := b.Put([]byte(e.key), []byte(e.value)); err != nil {
				return err
			}
		}
		return nil
	})
	if err := errors.Join(err, bdb.Close()); err != nil {
		t.Fatal(err)
	}
}

func TestMigrateV1(t *testing.T) {
	built := filepath.Join(t.TempDir(), "built-v1.db")
	writeV1(t, built)
	checkedIn := filepath.Join(t.TempDir(), "registry-v1.db")
	copyFile(t, "testdata/registry-v1.db", checkedIn)

	for name, path := range map[string]string{"built by the test": built, "testdata/registry-v1.db": checkedIn} {
		t.Run(name, func(t *testing.T) {
			db := openT(t, path, quiet)
			m := db.Meta()
			if m.FormatVersion != store.FormatVersion || m.Seq != 1 || m.InstanceID == "" {
				t.Fatalf("meta after migration = %+v", m)
			}
			want := []string{"app/11=1200", "app/12=900", "nginx/21=77"}
			if got := fileState(t, db); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("migrated files = %v, want %v", got, want)
			}
			recs, err := db.AllFiles()
			if err != nil {
				t.Fatal(err)
			}
			paths := map[uint64]string{11: "/var/log/app.log", 12: "/var/log/app.log.1", 21: "/var/log/nginx/access.log"}
			for _, r := range recs {
				if r.Path != paths[r.Inode] || r.FingerprintLen != 0 || r.LastSeen.IsZero() {
					t.Fatalf("migrated record %+v", r)
				}
			}
			if err := db.Check(); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			// The old bucket is gone; a second open is a plain format 2 open.
			again := openT(t, path, quiet)
			if again.Meta() != m {
				t.Fatalf("meta changed on the second open: %+v -> %+v", m, again.Meta())
			}
			if err := again.Close(); err != nil {
				t.Fatal(err)
			}
			assertBuckets(t, path, "cursors", "files", "meta")
		})
	}
}

// TestWriteV1Testdata regenerates testdata/registry-v1.db with -update; without it, it checks the file is still
// what writeV1 produces, entry by entry.
func TestWriteV1Testdata(t *testing.T) {
	if *update {
		_ = os.Remove("testdata/registry-v1.db")
		writeV1(t, "testdata/registry-v1.db")
	}
	bdb, err := bolt.Open("testdata/registry-v1.db", 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	err = bdb.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("registry"))
		if b == nil {
			t.Fatal("testdata/registry-v1.db has no registry bucket")
		}
		for _, e := range v1Entries {
			if got := b.Get([]byte(e.key)); string(got) != e.value {
				t.Errorf("testdata entry %q = %q, want %q", e.key, got, e.value)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMigrationReadOnlyRefuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	writeV1(t, path)
	before := fileHash(t, path)
	_, err := store.Open(path, store.Options{ReadOnly: true}, testLog(t))
	if !errors.Is(err, store.ErrFormat) || !strings.Contains(err.Error(), "run flicker on it once") {
		t.Fatalf("read-only open of format 1 = %v, want ErrFormat asking to migrate", err)
	}
	if fileHash(t, path) != before {
		t.Fatal("read-only open changed a format 1 file")
	}
}

func TestUnknownFormatLeavesFileUntouched(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
		want    string
	}{
		{"newer format", func(t *testing.T, path string) {
			if err := openT(t, path, quiet).Close(); err != nil {
				t.Fatal(err)
			}
			setBolt(t, path, "meta", "format", binary.BigEndian.AppendUint64(nil, store.FormatVersion+1))
		}, fmt.Sprintf("format version %d is newer than this flicker reads (%d): upgrade flicker",
			store.FormatVersion+1, store.FormatVersion)},
		{"older format with meta", func(t *testing.T, path string) {
			if err := openT(t, path, quiet).Close(); err != nil {
				t.Fatal(err)
			}
			setBolt(t, path, "meta", "format", binary.BigEndian.AppendUint64(nil, 1))
		}, "unknown format version 1"},
		{"foreign bbolt file", func(t *testing.T, path string) {
			setBolt(t, path, "users", "alice", []byte("x"))
		}, `another program (buckets ["users"]): not a flicker registry`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "registry.db")
			tt.prepare(t, path)
			before := fileHash(t, path)
			for _, ro := range []bool{false, true} {
				_, err := store.Open(path, store.Options{ReadOnly: ro}, testLog(t))
				if !errors.Is(err, store.ErrFormat) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("read-only %v: open = %v, want ErrFormat with %q", ro, err, tt.want)
				}
			}
			if fileHash(t, path) != before {
				t.Fatal("open changed the file")
			}
		})
	}
}

func TestOpenRejectsGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	if err := os.WriteFile(path, bytes.Repeat([]byte(`{"not":"bbolt"}`), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Open(path, quiet, testLog(t)); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("open of a JSON file = %v, want an error naming the path", err)
	}
}

func setBolt(t *testing.T, path, bucket, key string, value []byte) {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(bucket))
		if err != nil {
			return err
		}
		return b.Put([]byte(key), value)
	})
	if err := errors.Join(err, bdb.Close()); err != nil {
		t.Fatal(err)
	}
}

func assertBuckets(t *testing.T, path string, want ...string) {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	var got []string
	_ = bdb.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			got = append(got, string(name))
			return nil
		})
	})
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("buckets = %v, want %v", got, want)
	}
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
