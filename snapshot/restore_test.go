package snapshot_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/internal/miniotest"
	"github.com/flickerlog/flicker/snapshot"
	"github.com/flickerlog/flicker/store"
)

var testKeys = snapshot.Keys{Bucket: "restore", Latest: "flicker/registry.json"}

// restoreEnv is a MinIO server with the test bucket and a root client.
func restoreEnv(t *testing.T) (*miniotest.Server, *minio.Client) {
	t.Helper()
	srv := miniotest.Start(t)
	srv.MakeBucket(t, testKeys.Bucket)
	return srv, rootClient(t, srv)
}

// putSnapshot uploads a snapshot of db at key, as the replicator would, and returns its header.
func putSnapshot(t *testing.T, c *minio.Client, key string, db snapshot.Source) snapshot.Header {
	t.Helper()
	body, h := writeT(t, db)
	putRaw(t, c, key, body, h.Metadata())
	return h
}

func putRaw(t *testing.T, c *minio.Client, key string, body []byte, meta map[string]string) {
	t.Helper()
	_, err := c.PutObject(leaseContext(t), testKeys.Bucket, key, bytes.NewReader(body), int64(len(body)),
		minio.PutObjectOptions{UserMetadata: meta, DisableMultipart: true})
	if err != nil {
		t.Fatal(err)
	}
}

func getRaw(t *testing.T, c *minio.Client, key string) []byte {
	t.Helper()
	obj, err := c.GetObject(leaseContext(t), testKeys.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func restoreOpts(t *testing.T, logs io.Writer) snapshot.RestoreOptions {
	if logs == nil {
		logs = io.Discard
	}
	return snapshot.RestoreOptions{Keys: testKeys, HistorySlots: 4, Path: filepath.Join(t.TempDir(), "registry.db"),
		Timeout: 10 * time.Second, WriterID: "w-new", Hostname: "pod-new", Logger: zerolog.New(logs)}
}

func metaOf(t *testing.T, path string) store.Meta {
	t.Helper()
	db, err := store.Open(path, store.Options{ReadOnly: true}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return db.Meta()
}

func TestRestoreFirstStartWithNothingStored(t *testing.T) {
	_, c := restoreEnv(t)
	opts := restoreOpts(t, nil)
	if err := os.WriteFile(opts.Path, []byte("left over from another registry"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := snapshot.Restore(leaseContext(t), c, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.From != snapshot.FromNone || res.ETag != "" || res.Fallback {
		t.Fatalf("result %+v, want a first start with no object", res)
	}
	if _, err := os.Stat(opts.Path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("an unreadable local file was kept: %v", err)
	}
}

func TestRestoreLatestThenKeepsLocalWhenNotOlder(t *testing.T) {
	_, c := restoreEnv(t)
	db := newRegistry(t, 50)
	h := putSnapshot(t, c, testKeys.Latest, db)
	opts := restoreOpts(t, nil)
	res, err := snapshot.Restore(leaseContext(t), c, opts)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.StatObject(leaseContext(t), testKeys.Bucket, testKeys.Latest, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.From != snapshot.FromLatest || res.Header.Seq != h.Seq || res.Header.Epoch != 3 || res.ETag != st.ETag {
		t.Fatalf("result %+v, want latest seq %d epoch 3 etag %s", res, h.Seq, st.ETag)
	}
	if m := metaOf(t, opts.Path); m.Seq != h.Seq || m.InstanceID != h.InstanceID {
		t.Fatalf("installed meta %+v, want seq %d", m, h.Seq)
	}
	files := readFiles(t, opts.Path)
	if len(files) != 50 {
		t.Fatalf("restored %d file records, want 50", len(files))
	}

	// The same state dir again (a container restart keeps an emptyDir): nothing to download.
	res, err = snapshot.Restore(leaseContext(t), c, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.From != snapshot.FromLocal || res.ETag != st.ETag || res.Header.Seq != h.Seq {
		t.Fatalf("second restore %+v, want the local file kept", res)
	}

	// A newer snapshot replaces an older local file.
	db.PutFile(fileRecord(999))
	flushT(t, db)
	h2 := putSnapshot(t, c, testKeys.Latest, db)
	res, err = snapshot.Restore(leaseContext(t), c, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.From != snapshot.FromLatest || res.Header.Seq != h2.Seq || h2.Seq <= h.Seq {
		t.Fatalf("third restore %+v, want the newer latest seq %d", res, h2.Seq)
	}
}

func readFiles(t *testing.T, path string) []store.FileRecord {
	t.Helper()
	db, err := store.Open(path, store.Options{ReadOnly: true}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	files, err := db.AllFiles()
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestRestoreFallsBackToHistoryLoudly(t *testing.T) {
	_, c := restoreEnv(t)
	db := newRegistry(t, 20)
	old := putSnapshot(t, c, testKeys.History(1), db)
	db.PutFile(fileRecord(500))
	flushT(t, db)
	newest := putSnapshot(t, c, testKeys.History(2), db)
	// The latest keeps valid metadata but its bytes are garbage: only verification can tell.
	body, h := writeT(t, db)
	for i := len(body) - 64; i < len(body); i++ {
		body[i] ^= 0xff
	}
	putRaw(t, c, testKeys.Latest, body, h.Metadata())
	var logs lockedLog
	opts := restoreOpts(t, &logs)
	res, err := snapshot.Restore(leaseContext(t), c, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.From != snapshot.FromHistory || !res.Fallback || res.Header.Seq != newest.Seq || res.Key != testKeys.History(2) {
		t.Fatalf("result %+v, want history slot 2 seq %d (older slot seq %d)", res, newest.Seq, old.Seq)
	}
	if res.ETag == "" {
		t.Fatal("the corrupt latest's ETag is needed to overwrite it")
	}
	if !strings.Contains(logs.String(), "FALLBACK") || !strings.Contains(logs.String(), `"level":"error"`) {
		t.Fatalf("the fallback was not said loudly:\n%s", logs.String())
	}
	if len(readFiles(t, opts.Path)) != 21 {
		t.Fatal("the history slot's content was not installed")
	}
}

func TestRestoreSkipsCorruptHistorySlot(t *testing.T) {
	_, c := restoreEnv(t)
	db := newRegistry(t, 5)
	older := putSnapshot(t, c, testKeys.History(0), db)
	db.PutFile(fileRecord(77))
	flushT(t, db)
	body, h := writeT(t, db)
	body[len(body)-1] ^= 0xff
	putRaw(t, c, testKeys.History(3), body, h.Metadata())
	res, err := snapshot.Restore(leaseContext(t), c, restoreOpts(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.From != snapshot.FromHistory || res.Header.Seq != older.Seq || res.ETag != "" {
		t.Fatalf("result %+v, want the older good slot (seq %d) and no latest to match", res, older.Seq)
	}
}

func TestRestoreRefusesForeignObject(t *testing.T) {
	_, c := restoreEnv(t)
	foreign := []byte(`{"hello":"this is somebody else's registry.json"}`)
	putRaw(t, c, testKeys.Latest, foreign, nil)
	_, err := snapshot.Restore(leaseContext(t), c, restoreOpts(t, nil))
	if !errors.Is(err, snapshot.ErrForeign) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("error %v, want ErrForeign naming --force", err)
	}
	if got := getRaw(t, c, testKeys.Latest); !bytes.Equal(got, foreign) {
		t.Fatal("the foreign object changed")
	}
	opts := restoreOpts(t, nil)
	opts.Force = true
	res, err := snapshot.Restore(leaseContext(t), c, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.From != snapshot.FromNone || res.ETag == "" {
		t.Fatalf("forced result %+v, want an empty start that overwrites the object by its ETag", res)
	}
}

func TestRestoreCorruptWithoutHistoryNeedsAllowEmpty(t *testing.T) {
	_, c := restoreEnv(t)
	db := newRegistry(t, 5)
	body, h := writeT(t, db)
	putRaw(t, c, testKeys.Latest, body[:len(body)-10], h.Metadata())
	_, err := snapshot.Restore(leaseContext(t), c, restoreOpts(t, nil))
	if !errors.Is(err, snapshot.ErrNoGoodSnapshot) || !strings.Contains(err.Error(), "--allow-empty-start") {
		t.Fatalf("error %v, want ErrNoGoodSnapshot naming --allow-empty-start", err)
	}
	opts := restoreOpts(t, nil)
	opts.AllowEmpty = true
	res, err := snapshot.Restore(leaseContext(t), c, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.From != snapshot.FromNone || !res.Fallback || res.ETag == "" {
		t.Fatalf("result %+v, want an allowed empty start", res)
	}
}

func TestRestoreNewerFormatIsRefused(t *testing.T) {
	_, c := restoreEnv(t)
	db := newRegistry(t, 1)
	body, h := writeT(t, db)
	meta := h.Metadata()
	meta["flicker-format"] = "9"
	putRaw(t, c, testKeys.Latest, body, meta)
	_, err := snapshot.Restore(leaseContext(t), c, restoreOpts(t, nil))
	if !errors.Is(err, snapshot.ErrNewerFormat) {
		t.Fatalf("error %v, want ErrNewerFormat", err)
	}
}

// TestRestoreRestrictedCredentialsFirstStart: with only GetObject and PutObject on the registry's prefix, a first
// start and the next one work.
func TestRestoreRestrictedCredentialsFirstStart(t *testing.T) {
	srv, _ := restoreEnv(t)
	access, secret, token := srv.RestrictedCredentials(t, testKeys.Bucket, testKeys.Latest)
	c := leaseClient(t, srv.Endpoint(), access, secret, token, 0)
	res, err := snapshot.Restore(leaseContext(t), c, restoreOpts(t, nil))
	if err != nil || res.From != snapshot.FromNone {
		t.Fatalf("first start %+v %v", res, err)
	}
	db := newRegistry(t, 4)
	h := putSnapshot(t, c, testKeys.Latest, db)
	res, err = snapshot.Restore(leaseContext(t), c, restoreOpts(t, nil))
	if err != nil || res.From != snapshot.FromLatest || res.Header.Seq != h.Seq {
		t.Fatalf("second start %+v %v, want FromLatest", res, err)
	}
}

// TestRestoreResolves403ByCreating: AWS answers 403, not 404, for a missing key when the caller may not
// ListBucket. MinIO answers 404 there, so the 403 comes from a policy without GetObject: the first start creates
// the snapshot with If-None-Match: *; once it exists, 412 shows that access is really denied.
func TestRestoreResolves403ByCreating(t *testing.T) {
	srv, root := restoreEnv(t)
	access, secret, token := srv.PolicyCredentials(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",`+
		`"Action":["s3:PutObject"],"Resource":["arn:aws:s3:::`+testKeys.Bucket+`/`+testKeys.Latest+`*"]}]}`)
	c := leaseClient(t, srv.Endpoint(), access, secret, token, 0)
	res, err := snapshot.Restore(leaseContext(t), c, restoreOpts(t, nil))
	if err != nil || res.From != snapshot.FromNone || res.ETag == "" {
		t.Fatalf("first start %+v %v, want the first snapshot created", res, err)
	}
	e, err := snapshot.Stat(leaseContext(t), root, testKeys.Bucket, testKeys.Latest, "")
	if err != nil || e.Err != nil || e.ETag != res.ETag {
		t.Fatalf("the created snapshot: %+v %v", e, err)
	}
	_, err = snapshot.Restore(leaseContext(t), c, restoreOpts(t, nil))
	if !errors.Is(err, snapshot.ErrDenied) || !strings.Contains(err.Error(), "s3:GetObject") {
		t.Fatalf("second start: %v, want access denied naming s3:GetObject", err)
	}
}

func TestRestoreGivesUpAfterTimeoutWhenUnreachable(t *testing.T) {
	srv, _ := restoreEnv(t)
	access, secret := srv.RootCredentials()
	c := leaseClient(t, srv.Endpoint(), access, secret, "", 1)
	srv.Stop()
	var logs lockedLog
	opts := restoreOpts(t, &logs)
	opts.Timeout = 1500 * time.Millisecond
	start := time.Now()
	_, err := snapshot.Restore(context.Background(), c, opts)
	if err == nil || !strings.Contains(err.Error(), "--restore-timeout") {
		t.Fatalf("error %v, want one naming --restore-timeout", err)
	}
	if took := time.Since(start); took < opts.Timeout || took > opts.Timeout+30*time.Second {
		t.Fatalf("gave up after %s, want about %s", took, opts.Timeout)
	}
	if !strings.Contains(logs.String(), "retrying the restore") {
		t.Fatalf("retries were not logged:\n%s", logs.String())
	}
}

func TestRestoreWaitsForStoreToComeBack(t *testing.T) {
	srv, c := restoreEnv(t)
	db := newRegistry(t, 3)
	h := putSnapshot(t, c, testKeys.Latest, db)
	srv.Stop()
	restarted := make(chan struct{})
	go func() {
		defer close(restarted)
		time.Sleep(time.Second)
		srv.Restart()
	}()
	defer func() { <-restarted }() // before the server's cleanup kills it
	opts := restoreOpts(t, nil)
	opts.Timeout = time.Minute
	res, err := snapshot.Restore(leaseContext(t), c, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.From != snapshot.FromLatest || res.Header.Seq != h.Seq {
		t.Fatalf("result %+v after the store came back", res)
	}
}

func TestListFetchAndPromote(t *testing.T) {
	_, c := restoreEnv(t)
	db := newRegistry(t, 10)
	first := putSnapshot(t, c, testKeys.History(0), db)
	db.PutFile(fileRecord(100))
	flushT(t, db)
	latest := putSnapshot(t, c, testKeys.Latest, db)
	putRaw(t, c, testKeys.History(2), []byte("not a snapshot"), nil)

	entries, err := snapshot.List(leaseContext(t), c, testKeys, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 || entries[0].Slot != -1 || entries[0].Header.Seq != latest.Seq {
		t.Fatalf("entries %+v, want latest first then 2 history slots", entries)
	}
	var foreign, good int
	for _, e := range entries[1:] {
		switch {
		case errors.Is(e.Err, snapshot.ErrNotSnapshot):
			foreign++
		case e.Err == nil && e.Slot == 0 && e.Header.Seq == first.Seq:
			good++
		}
	}
	if foreign != 1 || good != 1 {
		t.Fatalf("history entries %+v", entries[1:])
	}

	var calls int
	var lastDone, lastTotal int64
	dst := filepath.Join(t.TempDir(), "copy.db")
	h, etag, err := snapshot.Fetch(leaseContext(t), c, testKeys.Bucket, testKeys.Latest, "", dst,
		func(done, total int64) { calls++; lastDone, lastTotal = done, total })
	if err != nil || h.Seq != latest.Seq || etag != entries[0].ETag {
		t.Fatalf("fetch %+v %q %v", h, etag, err)
	}
	if calls == 0 || lastDone != lastTotal || lastTotal != entries[0].Size {
		t.Fatalf("progress calls %d, last %d of %d, object %d bytes", calls, lastDone, lastTotal, entries[0].Size)
	}
	if _, _, err := snapshot.Fetch(leaseContext(t), c, testKeys.Bucket, testKeys.History(2), "", dst, nil); !errors.Is(err, snapshot.ErrNotSnapshot) {
		t.Fatalf("fetch of a foreign object: %v", err)
	}

	// Promote the older history slot at a new epoch; a stale ETag is refused.
	promote := snapshot.PromoteOptions{From: entries[len(entries)-1], TmpDir: t.TempDir(),
		Publish: snapshot.PublishOptions{Keys: testKeys, Epoch: 9, ETag: `"0123456789abcdef0123456789abcdef"`,
			Info: snapshot.HeaderInfo{WriterID: "operator", Hostname: "laptop"}}}
	for _, e := range entries {
		if e.Slot == 0 {
			promote.From = e
		}
	}
	if _, _, err := snapshot.Promote(leaseContext(t), c, promote); !errors.Is(err, snapshot.ErrConflict) {
		t.Fatalf("promote over a stale ETag: %v, want ErrConflict", err)
	}
	promote.Publish.ETag = entries[0].ETag
	ph, _, err := snapshot.Promote(leaseContext(t), c, promote)
	if err != nil {
		t.Fatal(err)
	}
	if ph.Epoch != 9 || ph.WriterID != "operator" {
		t.Fatalf("promoted header %+v", ph)
	}
	opts := restoreOpts(t, nil)
	res, err := snapshot.Restore(leaseContext(t), c, opts)
	if err != nil || res.From != snapshot.FromLatest || res.Header.Epoch != 9 {
		t.Fatalf("restore after promote %+v %v", res, err)
	}
	if n := len(readFiles(t, opts.Path)); n != 10 {
		t.Fatalf("promoted state has %d file records, want the older slot's 10", n)
	}
}

func TestVersionsOfTheLatest(t *testing.T) {
	_, c := restoreEnv(t)
	if err := c.EnableVersioning(leaseContext(t), testKeys.Bucket); err != nil {
		t.Fatal(err)
	}
	db := newRegistry(t, 2)
	h1 := putSnapshot(t, c, testKeys.Latest, db)
	db.PutFile(fileRecord(50))
	flushT(t, db)
	h2 := putSnapshot(t, c, testKeys.Latest, db)
	versions, err := snapshot.Versions(leaseContext(t), c, testKeys)
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != 2 || !versions[0].Latest || versions[0].Header.Seq != h2.Seq || versions[1].Header.Seq != h1.Seq {
		t.Fatalf("versions %+v, want seq %d (latest) then %d", versions, h2.Seq, h1.Seq)
	}
	dst := filepath.Join(t.TempDir(), "old.db")
	h, _, err := snapshot.Fetch(leaseContext(t), c, testKeys.Bucket, testKeys.Latest, versions[1].VersionID, dst, nil)
	if err != nil || h.Seq != h1.Seq {
		t.Fatalf("fetch of the older version: %+v %v", h, err)
	}
}

// TestRestoreGarbageNextToHistoryIsDamage: an object without flicker metadata at the latest key, next to good
// history slots, is a damaged registry (fallback), not another program's object.
func TestRestoreGarbageNextToHistoryIsDamage(t *testing.T) {
	_, c := restoreEnv(t)
	db := newRegistry(t, 3)
	h := putSnapshot(t, c, testKeys.History(1), db)
	putRaw(t, c, testKeys.Latest, []byte("garbage garbage garbage"), nil)
	res, err := snapshot.Restore(leaseContext(t), c, restoreOpts(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.From != snapshot.FromHistory || res.Header.Seq != h.Seq || res.ETag == "" {
		t.Fatalf("result %+v, want the history slot and the garbage's ETag", res)
	}
}

// TestRestoreCopyWithoutMetadata: a copy that lost the object metadata (downloaded and uploaded again) is still a
// complete snapshot: the header is read from the object itself.
func TestRestoreCopyWithoutMetadata(t *testing.T) {
	_, c := restoreEnv(t)
	db := newRegistry(t, 7)
	body, h := writeT(t, db)
	putRaw(t, c, testKeys.Latest, body, nil)
	e, err := snapshot.Stat(leaseContext(t), c, testKeys.Bucket, testKeys.Latest, "")
	if err != nil || e.Err != nil || e.Header.Seq != h.Seq {
		t.Fatalf("stat of a copy without metadata: %+v %v", e, err)
	}
	res, err := snapshot.Restore(leaseContext(t), c, restoreOpts(t, nil))
	if err != nil || res.From != snapshot.FromLatest || res.Header.Seq != h.Seq {
		t.Fatalf("restore %+v %v", res, err)
	}
}
