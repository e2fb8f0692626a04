package snapshot_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/flickerlog/flicker/internal/miniotest"
	"github.com/flickerlog/flicker/snapshot"
)

func TestProbeConditionalWrites(t *testing.T) {
	srv := miniotest.Start(t)
	root := rootClient(t, srv)

	t.Run("MinIO honours If-Match and If-None-Match", func(t *testing.T) {
		keys := replBucket(t, srv)
		for range 2 { // a second probe, finding the first one's object, says the same
			ok, err := snapshot.ProbeConditionalWrites(leaseContext(t), root, keys)
			if err != nil || !ok {
				t.Fatalf("probe = %v, %v; want true", ok, err)
			}
		}
		if objectMissing(t, root, keys.Bucket, keys.Probe()) {
			t.Fatal("the probe left no object: If-None-Match was never checked against an existing one")
		}
	})

	t.Run("an object already at the probe key", func(t *testing.T) {
		keys := replBucket(t, srv)
		body := "left by a probe on a store that ignored If-Match"
		if _, err := root.PutObject(leaseContext(t), keys.Bucket, keys.Probe(), strings.NewReader(body),
			int64(len(body)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		ok, err := snapshot.ProbeConditionalWrites(leaseContext(t), root, keys)
		if err != nil || !ok {
			t.Fatalf("probe = %v, %v; want true", ok, err)
		}
	})

	t.Run("a missing bucket is an error", func(t *testing.T) {
		keys := snapshot.Keys{Bucket: "no-such-bucket", Latest: replKey}
		ok, err := snapshot.ProbeConditionalWrites(leaseContext(t), root, keys)
		if err == nil || ok || !strings.Contains(err.Error(), "does not exist") {
			t.Fatalf("probe = %v, %v; want an error saying the bucket does not exist", ok, err)
		}
	})
}

// TestProbeStoreIgnoringOneCondition runs the probe against stores that honour one conditional write and ignore
// the other (MinIO honours both, so an emulator on 127.0.0.1 plays these).
func TestProbeStoreIgnoringOneCondition(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		ignoreIf, ignoreIfNone bool
		want                   bool
	}{
		{"honours both", false, false, true},
		{"ignores If-None-Match", false, true, false},
		{"ignores If-Match", true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &conditionalStore{ignoreIfMatch: tc.ignoreIf, ignoreIfNoneMatch: tc.ignoreIfNone, objects: map[string]bool{}}
			hs := httptest.NewServer(store)
			t.Cleanup(hs.Close)
			c := leaseClient(t, strings.TrimPrefix(hs.URL, "http://"), "access", "secret-key", "", 1)
			keys := snapshot.Keys{Bucket: "probe-bucket", Latest: replKey}
			for round := range 2 {
				ok, err := snapshot.ProbeConditionalWrites(leaseContext(t), c, keys)
				if err != nil || ok != tc.want {
					t.Fatalf("probe %d = %v, %v; want %v", round+1, ok, err, tc.want)
				}
			}
		})
	}
}

// conditionalStore answers PUTs as an S3 store would, honouring If-Match and If-None-Match: * unless told to
// ignore one of them.
type conditionalStore struct {
	ignoreIfMatch, ignoreIfNoneMatch bool

	mu      sync.Mutex
	objects map[string]bool
	writes  int
}

func (s *conditionalStore) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	if r.Method != http.MethodPut {
		http.Error(w, "not implemented", http.StatusNotImplemented)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exists := s.objects[r.URL.Path]
	etag := fmt.Sprintf(`"%032d"`, s.writes)
	refuse := func(status int, code string) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>refused</Message></Error>`, code)
	}
	if m := r.Header.Get("If-Match"); m != "" && !s.ignoreIfMatch {
		if !exists {
			refuse(http.StatusNotFound, "NoSuchKey")
			return
		}
		if m != etag {
			refuse(http.StatusPreconditionFailed, "PreconditionFailed")
			return
		}
	}
	if r.Header.Get("If-None-Match") == "*" && exists && !s.ignoreIfNoneMatch {
		refuse(http.StatusPreconditionFailed, "PreconditionFailed")
		return
	}
	s.objects[r.URL.Path] = true
	s.writes++
	w.Header().Set("ETag", fmt.Sprintf(`"%032d"`, s.writes))
	w.WriteHeader(http.StatusOK)
}
