package s3out_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/internal/miniotest"
	"github.com/flickerlog/flicker/internal/s3client"
	s3out "github.com/flickerlog/flicker/sinks/s3"
)

// minio-go keeps idle keep-alive connections to the test servers; their goroutines are not leaks.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m, miniotest.IdleConnections()...) }

const bucket = "archive"

// startMinIO starts a real MinIO server with the bucket.
func startMinIO(t testing.TB) *miniotest.Server {
	t.Helper()
	srv := miniotest.Start(t)
	srv.MakeBucket(t, bucket)
	return srv
}

// sinkClient builds the sink's client the way flicker does: the AWS environment (here a fake one pointing at
// endpoint with the server's root keys) through s3client.FromEnv and s3client.New. minio-go's own retries are
// off (MaxRetries 1), so that a stopped server fails an upload at once and the engine's retries show.
func sinkClient(t testing.TB, srv *miniotest.Server, endpointURL string) *minio.Client {
	t.Helper()
	access, secret := srv.RootCredentials()
	env := map[string]string{
		s3client.EnvEndpointURL: endpointURL, s3client.EnvRegion: miniotest.Region,
		s3client.EnvAccessKeyID: access, s3client.EnvSecretAccessKey: secret,
	}
	cfg, err := s3client.FromEnv(func(k string) string { return env[k] }, s3client.Config{MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s3client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newSink returns a sink on the bucket with cfg (defaults filled), closed when the test ends.
func newSink(t testing.TB, cfg s3out.Config, client *minio.Client) *s3out.Sink {
	t.Helper()
	if cfg.Bucket == "" {
		cfg.Bucket = bucket
	}
	cfg.SetDefaults()
	s, err := s3out.New(cfg, client, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s
}

// eventDoc is the part of an encoded event the tests look at.
type eventDoc struct {
	Timestamp time.Time             `json:"@timestamp"`
	Message   string                `json:"message"`
	ID        string                `json:"id"`
	Input     struct{ Name string } `json:"input"`
	Log       struct {
		File   struct{ Path string } `json:"file"`
		Offset int64                 `json:"offset"`
	} `json:"log"`
	DeadLetter *struct{ Reason string } `json:"dead_letter"`
}

// stored is one object as read back from the bucket.
type stored struct {
	Key             string
	ContentType     string
	ContentEncoding string
	LastModified    time.Time
	Raw             int // NDJSON bytes after decompression
	Events          []eventDoc
}

// listObjects reads every object under prefix back, decompressing by the key's extension, which must agree
// with the Content-Encoding.
func listObjects(t testing.TB, c *minio.Client, bkt, prefix string) []stored {
	t.Helper()
	ctx := miniotest.Context(t)
	var out []stored
	for info := range c.ListObjects(ctx, bkt, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if info.Err != nil {
			t.Fatalf("list: %v", info.Err)
		}
		obj, err := c.GetObject(ctx, bkt, info.Key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(obj)
		_ = obj.Close()
		if err != nil {
			t.Fatalf("get %s: %v", info.Key, err)
		}
		st, err := c.StatObject(ctx, bkt, info.Key, minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s := stored{Key: info.Key, ContentType: st.ContentType, ContentEncoding: st.Metadata.Get("Content-Encoding"),
			LastModified: info.LastModified}
		ndjson := decompress(t, info.Key, s.ContentEncoding, body)
		s.Raw = len(ndjson)
		s.Events = decodeLines(t, info.Key, ndjson)
		out = append(out, s)
	}
	return out
}

func decompress(t testing.TB, key, encoding string, body []byte) []byte {
	t.Helper()
	var want string
	var r io.Reader
	switch {
	case strings.HasSuffix(key, ".ndjson.gz"):
		want = "gzip"
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		r = zr
	case strings.HasSuffix(key, ".ndjson.zst"):
		want = "zstd"
		zr, err := zstd.NewReader(bytes.NewReader(body), zstd.WithDecoderConcurrency(1))
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		defer zr.Close()
		r = zr
	case strings.HasSuffix(key, ".ndjson"):
		r = bytes.NewReader(body)
	default:
		t.Fatalf("key %s has no known extension", key)
	}
	if encoding != want {
		t.Errorf("%s: Content-Encoding %q, want %q", key, encoding, want)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: decompress: %v", key, err)
	}
	return out
}

func decodeLines(t testing.TB, key string, ndjson []byte) []eventDoc {
	t.Helper()
	if len(ndjson) > 0 && ndjson[len(ndjson)-1] != '\n' {
		t.Errorf("%s: does not end with a newline", key)
	}
	var evs []eventDoc
	sc := bufio.NewScanner(bytes.NewReader(ndjson))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var d eventDoc
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("%s: line %d: %v: %s", key, len(evs)+1, err, sc.Bytes())
		}
		evs = append(evs, d)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return evs
}

// checkInObjectOrder fails when a stream's events go backwards within one object: objects have no order among
// themselves, but each keeps its streams' order (no retries in the runs that call it).
func checkInObjectOrder(t testing.TB, objs []stored) {
	t.Helper()
	for _, o := range objs {
		last := map[string]int64{}
		for _, e := range o.Events {
			if prev, ok := last[e.Log.File.Path]; ok && e.Log.Offset <= prev {
				t.Errorf("%s: stream %s offset %d after %d", o.Key, e.Log.File.Path, e.Log.Offset, prev)
			}
			last[e.Log.File.Path] = e.Log.Offset
		}
	}
}

// messagesByStream returns every message of objs ordered by stream and offset (objects have no order among
// themselves), duplicates kept.
func messagesByStream(objs []stored) [][]byte {
	var all []eventDoc
	for _, o := range objs {
		all = append(all, o.Events...)
	}
	slices.SortStableFunc(all, func(a, b eventDoc) int {
		if c := strings.Compare(a.Log.File.Path, b.Log.File.Path); c != 0 {
			return c
		}
		return int(a.Log.Offset - b.Log.Offset)
	})
	msgs := make([][]byte, len(all))
	for i, e := range all {
		msgs[i] = []byte(e.Message)
	}
	return msgs
}

// keys returns the keys of objs, sorted.
func keys(objs []stored) []string {
	ks := make([]string, len(objs))
	for i, o := range objs {
		ks[i] = o.Key
	}
	slices.Sort(ks)
	return ks
}

// waitFor polls cond every 20 ms until it holds or limit passes, then fails with what.
func waitFor(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func describe(objs []stored) string {
	var b strings.Builder
	for _, o := range objs {
		fmt.Fprintf(&b, "\n  %s (%d events, %d bytes)", o.Key, len(o.Events), o.Raw)
	}
	return b.String()
}
