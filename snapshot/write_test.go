package snapshot_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/snapshot"
	"github.com/flickerlog/flicker/store"
)

func TestRoundTrip(t *testing.T) {
	db := newRegistry(t, 10000)
	obj, h := writeT(t, db)

	dst := filepath.Join(t.TempDir(), "restored", "registry.db")
	got, err := snapshot.Read(bytes.NewReader(obj), dst)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, h) {
		t.Fatalf("Read header\n%+v\nwant Write's\n%+v", got, h)
	}
	restored, err := store.Open(dst, store.Options{ReadOnly: true}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	if restored.Meta() != db.Meta() {
		t.Fatalf("restored meta %+v, want %+v", restored.Meta(), db.Meta())
	}
	want, err := db.AllFiles()
	if err != nil {
		t.Fatal(err)
	}
	files, err := restored.AllFiles()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 10000 || !reflect.DeepEqual(files, want) {
		t.Fatalf("restored %d files, want the 10000 written", len(files))
	}
	c, ok, err := restored.Cursor("okta")
	if err != nil || !ok || c.Cursor != "https://example.okta.com/next?after=42" {
		t.Fatalf("restored cursor %+v, %v, %v", c, ok, err)
	}
	entries, err := os.ReadDir(filepath.Dir(dst))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("restore dir holds %d entries, want only the registry: %v", len(entries), entries)
	}
}

func TestHeaderDescribesTheCopy(t *testing.T) {
	db := newRegistry(t, 50)
	obj, h := writeT(t, db)
	m := db.Meta()
	want := snapshot.Header{
		FormatVersion: snapshot.FormatVersion, Epoch: 3, Seq: m.Seq, Created: created, WriterID: "w-1",
		Hostname: "pod-a", InstanceID: m.InstanceID, StoreFormat: store.FormatVersion,
		RawSize: h.RawSize, RawSHA256: h.RawSHA256, PayloadSize: h.PayloadSize, PayloadSHA256: h.PayloadSHA256,
	}
	if m.Seq < 2 || !reflect.DeepEqual(h, want) {
		t.Fatalf("header\n%+v\nwant\n%+v", h, want)
	}
	r := bytes.NewReader(obj)
	read, err := snapshot.ReadHeader(r)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(read, h) {
		t.Fatalf("ReadHeader\n%+v\nwant\n%+v", read, h)
	}
	if int64(r.Len()) != h.PayloadSize {
		t.Fatalf("ReadHeader left %d bytes, want the %d-byte payload", r.Len(), h.PayloadSize)
	}
	var raw bytes.Buffer
	if _, err := db.WriteSnapshot(&raw); err != nil {
		t.Fatal(err)
	}
	if int64(raw.Len()) != h.RawSize {
		t.Fatalf("raw size %d, the registry copies to %d bytes", h.RawSize, raw.Len())
	}
	if h.PayloadSize >= h.RawSize/2 {
		t.Fatalf("payload %d bytes for %d raw: not compressed", h.PayloadSize, h.RawSize)
	}
}

func TestMetadataRoundTrip(t *testing.T) {
	db := newRegistry(t, 10)
	_, h := writeT(t, db)
	h.WriterID = "writer ü/1:2%"
	h.Hostname = "node-1.example.internal"
	md := h.Metadata()
	for k, v := range md {
		if k != strings.ToLower(k) || !isASCII(k) || !isASCII(v) {
			t.Errorf("metadata %q=%q: keys must be lower-case ASCII, values ASCII", k, v)
		}
	}
	got, err := snapshot.HeaderFromMetadata(md)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, h) {
		t.Fatalf("from metadata\n%+v\nwant\n%+v", got, h)
	}
	// As minio-go's ObjectInfo.UserMetadata and as raw HTTP headers.
	for name, key := range map[string]func(string) string{
		"canonical":   func(k string) string { return http.CanonicalHeaderKey(k) },
		"http header": func(k string) string { return http.CanonicalHeaderKey("x-amz-meta-" + k) },
	} {
		alt := map[string]string{"Content-Type": "application/octet-stream"}
		for k, v := range md {
			alt[key(k)] = v
		}
		got, err := snapshot.HeaderFromMetadata(alt)
		if err != nil || !reflect.DeepEqual(got, h) {
			t.Errorf("%s keys: %+v, %v", name, got, err)
		}
	}
}

func TestHeaderFromMetadataErrors(t *testing.T) {
	db := newRegistry(t, 10)
	_, h := writeT(t, db)
	tests := []struct {
		name   string
		change func(map[string]string)
		want   error
	}{
		{"another program's object", func(m map[string]string) { clear(m); m["owner"] = "terraform" }, snapshot.ErrNotSnapshot},
		{"no metadata", func(m map[string]string) { clear(m) }, snapshot.ErrNotSnapshot},
		{"newer format", func(m map[string]string) { m["flicker-format"] = "2" }, snapshot.ErrNewerFormat},
		{"format 0", func(m map[string]string) { m["flicker-format"] = "0" }, snapshot.ErrCorrupt},
		{"missing seq", func(m map[string]string) { delete(m, "flicker-seq") }, snapshot.ErrCorrupt},
		{"seq not a number", func(m map[string]string) { m["flicker-seq"] = "12a" }, snapshot.ErrCorrupt},
		{"bad time", func(m map[string]string) { m["flicker-created"] = "yesterday" }, snapshot.ErrCorrupt},
		{"short sha", func(m map[string]string) { m["flicker-payload-sha256"] = "abcd" }, snapshot.ErrCorrupt},
		{"size too large", func(m map[string]string) { m["flicker-raw-size"] = "99999999999999" }, snapshot.ErrCorrupt},
		{"bad escape", func(m map[string]string) { m["flicker-writer"] = "%zz" }, snapshot.ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := h.Metadata()
			tt.change(md)
			if _, err := snapshot.HeaderFromMetadata(md); !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSnapshotReaderRereads(t *testing.T) {
	db := newRegistry(t, 100)
	tmp := t.TempDir()
	s, err := snapshot.Build(db, info, tmp)
	if err != nil {
		t.Fatal(err)
	}
	first, err := io.ReadAll(s.NewReader())
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(first)) != s.Size() {
		t.Fatalf("read %d bytes, Size says %d", len(first), s.Size())
	}
	// A retried upload rewinds the same reader.
	r := s.NewReader()
	if _, err := io.CopyN(io.Discard, r, s.Size()/2); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	again, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, again) {
		t.Fatal("a rewound reader read different bytes")
	}
	if _, err := snapshot.Read(bytes.NewReader(again), filepath.Join(t.TempDir(), "r.db")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	assertEmptyDir(t, tmp)
}

// fakeSource stands for a registry whose copy fails or is not a registry.
type fakeSource struct {
	data []byte
	err  error
}

func (f fakeSource) WriteSnapshot(w io.Writer) (int64, error) {
	n, err := w.Write(f.data)
	if f.err != nil {
		return int64(n), f.err
	}
	return int64(n), err
}

func TestBuildFailures(t *testing.T) {
	errDisk := errors.New("disk on fire")
	tests := []struct {
		name string
		src  fakeSource
		want error
	}{
		{"copy fails", fakeSource{data: []byte("partial"), err: errDisk}, errDisk},
		{"copy is not bbolt", fakeSource{data: bytes.Repeat([]byte("not a registry "), 2000)}, nil},
		{"copy is empty", fakeSource{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			var out bytes.Buffer
			_, err := snapshot.Write(&out, tt.src, info, tmp)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if out.Len() != 0 {
				t.Fatalf("wrote %d bytes of a failed snapshot", out.Len())
			}
			assertEmptyDir(t, tmp)
		})
	}
}

// TestHeaderMatchesCopyUnderCommits takes snapshots while the registry commits: each header must describe exactly
// the copy it carries, or Read would refuse it.
func TestHeaderMatchesCopyUnderCommits(t *testing.T) {
	db := newRegistry(t, 200)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			db.PutFile(fileRecord(i % 300))
			if err := db.Flush(ctx); err != nil && ctx.Err() == nil {
				t.Errorf("flush: %v", err)
				return
			}
		}
	})
	defer wg.Wait()
	defer cancel()
	seqs := map[uint64]bool{}
	for i := range 20 {
		obj, h := writeT(t, db)
		if _, err := snapshot.Read(bytes.NewReader(obj), filepath.Join(t.TempDir(), "r.db")); err != nil {
			t.Errorf("snapshot %d (seq %d): %v", i, h.Seq, err)
		}
		seqs[h.Seq] = true
		// Let at least one commit land before the next snapshot, so each one copies a different state.
		deadline := time.Now().Add(30 * time.Second)
		for db.Meta().Seq == h.Seq && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	if len(seqs) != 20 {
		t.Fatalf("20 snapshots saw %d distinct seqs, want 20", len(seqs))
	}
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("temp dir not cleaned: %v", entries)
	}
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
