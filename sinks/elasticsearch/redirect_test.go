package elasticsearch_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/sinks/elasticsearch"
	"github.com/flickerlog/flicker/sinks/elasticsearch/estest"
)

// redirectingHost serves es under /new/ and answers every request under /old/ with status and a Location to
// the same path under /new/ on the same origin, counting those answers.
func redirectingHost(t *testing.T, es *estest.Server, status int) (url string, redirects *atomic.Int64) {
	t.Helper()
	redirects = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rest, ok := strings.CutPrefix(r.URL.Path, "/old/"); ok {
			redirects.Add(1)
			w.Header().Set("Location", "/new/"+rest+"?"+r.URL.RawQuery)
			w.WriteHeader(status)
			return
		}
		es.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, redirects
}

// TestRedirectChangingTheMethodNotFollowed: after a 301, 302 or 303 net/http would send the _bulk request again
// as a GET, which Elasticsearch answers 405; the events were rejected then. Such a redirect is not followed:
// the events are retried and the operator told why.
func TestRedirectChangingTheMethodNotFollowed(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			es := estest.Start(t, estest.Options{})
			base, redirects := redirectingHost(t, es, status)
			var logs logBuffer
			s := newLoggingSink(t, elasticsearch.Config{Hosts: []string{base + "/old"}, Index: "logs"},
				zerolog.New(&logs))
			b := engine.NewBatch(events(testStream(), 0, 3))
			err := s.Write(t.Context(), b)
			if err == nil || !strings.Contains(err.Error(), "the POST would become a GET") {
				t.Fatalf("write error %v, want the redirect explained", err)
			}
			for i := range b.Len() {
				if st, err := b.Status(i); st != engine.Retry {
					t.Errorf("event %d: %v %v, want retry", i, st, err)
				}
			}
			if redirects.Load() != 1 || es.Requests() != 0 {
				t.Errorf("%d redirects and %d requests reached elasticsearch, want 1 and 0", redirects.Load(),
					es.Requests())
			}
			if msgs := logs.messages(t, "error"); len(msgs) != 1 || !strings.Contains(msgs[0], "set hosts") {
				t.Errorf("error logs %q, want one telling to set hosts", msgs)
			}
		})
	}
}

// TestRedirectKeepingTheMethodFollowed: a 307 or 308 to the same host keeps the POST and its body.
func TestRedirectKeepingTheMethodFollowed(t *testing.T) {
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			es := estest.Start(t, estest.Options{})
			base, redirects := redirectingHost(t, es, status)
			s := newSink(t, elasticsearch.Config{Hosts: []string{base + "/old"}, Index: "logs"})
			b := engine.NewBatch(events(testStream(), 0, 3))
			if err := s.Write(t.Context(), b); err != nil {
				t.Fatal(err)
			}
			if redirects.Load() != 1 || es.DocCount() != 3 {
				t.Errorf("%d redirects, %d documents, want 1 and 3", redirects.Load(), es.DocCount())
			}
			if paths := es.Paths(); len(paths) != 1 || paths[0] != "/new/_bulk" {
				t.Errorf("elasticsearch saw paths %q, want [/new/_bulk]", paths)
			}
		})
	}
}

// TestRedirectToAnotherHostRefused: net/http would follow a 307 to another host with the configured headers and
// the events (it drops only Authorization). It is refused: nothing reaches the other host, the events are
// retried and the refusal logged.
func TestRedirectToAnotherHostRefused(t *testing.T) {
	other := estest.Start(t, estest.Options{})
	var redirects atomic.Int64
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		redirects.Add(1)
		w.Header().Set("Location", other.URL()+r.URL.RequestURI())
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	t.Cleanup(front.Close)
	var logs logBuffer
	s := newLoggingSink(t, elasticsearch.Config{Hosts: []string{front.URL}, Index: "logs",
		Headers: map[string]string{"X-Api-Key": "s3cret"}}, zerolog.New(&logs))
	b := engine.NewBatch(events(testStream(), 0, 3))
	err := s.Write(t.Context(), b)
	var serr *elasticsearch.StatusError
	if !errors.As(err, &serr) || serr.Status != http.StatusTemporaryRedirect ||
		!strings.Contains(serr.Reason, "another host") {
		t.Fatalf("write error %v, want the 307 refused as going to another host", err)
	}
	for i := range b.Len() {
		if st, err := b.Status(i); st != engine.Retry {
			t.Errorf("event %d: %v %v, want retry", i, st, err)
		}
	}
	if redirects.Load() != 1 || other.Requests() != 0 || other.Unauthorized() != 0 {
		t.Errorf("%d redirects; the other host got %d requests: want 1 and none", redirects.Load(),
			other.Requests()+other.Unauthorized())
	}
	if msgs := logs.messages(t, "error"); len(msgs) != 1 {
		t.Errorf("error logs %q, want one", msgs)
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Errorf("the header value leaked into the logs: %s", logs.String())
	}
}
