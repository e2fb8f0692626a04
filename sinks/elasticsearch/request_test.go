package elasticsearch_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/sinks/elasticsearch"
	"github.com/flickerlog/flicker/sinks/elasticsearch/estest"
)

// TestAuthentication: API keys in both forms and basic credentials reach the cluster as documented; refused
// credentials keep the events.
func TestAuthentication(t *testing.T) {
	tests := []struct {
		name string
		opts estest.Options
		cfg  elasticsearch.Config
		ok   bool
	}{
		{"api key id:key", estest.Options{APIKey: estest.APIKeyOf("k1:s3cret")}, elasticsearch.Config{APIKey: "k1:s3cret"}, true},
		{"api key encoded", estest.Options{APIKey: estest.APIKeyOf("k1:s3cret")}, elasticsearch.Config{APIKey: estest.APIKeyOf("k1:s3cret")}, true},
		{"basic", estest.Options{User: "shipper", Pass: "pa:ss"}, elasticsearch.Config{Username: "shipper", Password: "pa:ss"}, true},
		{"wrong password", estest.Options{User: "shipper", Pass: "pa:ss"}, elasticsearch.Config{Username: "shipper", Password: "nope"}, false},
		{"missing", estest.Options{APIKey: estest.APIKeyOf("k1:s3cret")}, elasticsearch.Config{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := estest.Start(t, tt.opts)
			cfg := tt.cfg
			cfg.Hosts, cfg.Index = []string{es.URL()}, "logs"
			s := newSink(t, cfg)
			b := engine.NewBatch(events(testStream(), 0, 2))
			err := s.Write(t.Context(), b)
			if tt.ok {
				if err != nil || es.DocCount() != 2 {
					t.Fatalf("write: %v, %d documents", err, es.DocCount())
				}
				return
			}
			var serr *elasticsearch.StatusError
			if !errors.As(err, &serr) || serr.Status != http.StatusUnauthorized || es.Unauthorized() != 1 {
				t.Fatalf("write error %v, want a 401", err)
			}
			if strings.Contains(err.Error(), "nope") || strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("the error shows a secret: %v", err)
			}
			for i, st := range statuses(b) {
				if st != engine.Retry {
					t.Fatalf("event %d: %v, want retry", i, st)
				}
			}
		})
	}
}

// TestCompressionHeadersAndPathPrefix: gzip bodies by default and plain ones with compression none, the
// configured headers, and a path prefix in the host URL.
func TestCompressionHeadersAndPathPrefix(t *testing.T) {
	for _, c := range []string{"", "gzip", "none"} {
		t.Run("compression="+c, func(t *testing.T) {
			es := estest.Start(t, estest.Options{})
			s := newSink(t, elasticsearch.Config{Hosts: []string{es.URL() + "/es/"}, Index: "logs", Compression: c,
				Headers: map[string]string{"X-Tenant": "blue"}})
			if err := s.Write(t.Context(), engine.NewBatch(events(testStream(), 0, 3))); err != nil {
				t.Fatal(err)
			}
			if wantGzip := c != "none"; (es.Gzipped() == 1) != wantGzip {
				t.Errorf("%d of %d requests gzipped, want gzip %t", es.Gzipped(), es.Requests(), wantGzip)
			}
			h := es.LastHeader()
			if h.Get("X-Tenant") != "blue" || h.Get("Content-Type") != "application/x-ndjson" {
				t.Errorf("headers %v", h)
			}
			if p := es.Paths(); len(p) != 1 || p[0] != "/es/_bulk" {
				t.Errorf("paths %v, want /es/_bulk", p)
			}
			if es.DocCount() != 3 {
				t.Errorf("%d documents", es.DocCount())
			}
		})
	}
}

// TestIDsMatchTheDocument: an event's own id, whatever its bytes, is indexed under the same string as the
// document's "id".
func TestIDsMatchTheDocument(t *testing.T) {
	es := estest.Start(t, estest.Options{})
	s := newSink(t, elasticsearch.Config{Hosts: []string{es.URL()}, Index: "logs"})
	ids := []string{"plain", `q"uo\te`, "tab\there\nnl", "ctl\x01\x1f", "bad\xff\xfeutf8", "журнал", "emoji 🙂",
		"sep\u2028"}
	evs := events(testStream(), 0, len(ids)+1) // and one derived id
	for i, id := range ids {
		evs[i].ID = []byte(id)
	}
	if err := s.Write(t.Context(), engine.NewBatch(evs)); err != nil {
		t.Fatal(err)
	}
	if m := es.IDMismatches(); len(m) > 0 {
		t.Fatalf("_id and document id differ: %v", m)
	}
	if es.DocCount() != len(evs) {
		t.Fatalf("%d documents, want %d", es.DocCount(), len(evs))
	}
	if _, ok := es.Doc("logs", "bad\ufffd\ufffdutf8"); !ok {
		t.Error("invalid UTF-8 in an id is not replaced byte by byte as in the document")
	}
	if _, ok := es.Doc("logs", idOf(&evs[len(ids)])); !ok {
		t.Error("the derived id is not the _id")
	}
}

// TestReplayOverwritesOrConflicts: writing the same events again overwrites them (op_type index) or answers 409,
// accepted (op_type create); either way one document per event.
func TestReplayOverwritesOrConflicts(t *testing.T) {
	for _, op := range []string{"index", "create"} {
		t.Run(op, func(t *testing.T) {
			es := estest.Start(t, estest.Options{})
			s := newSink(t, elasticsearch.Config{Hosts: []string{es.URL()}, Index: "logs", OpType: op})
			evs := events(testStream(), 0, 10)
			for range 2 {
				b := engine.NewBatch(evs)
				if err := s.Write(t.Context(), b); err != nil {
					t.Fatal(err)
				}
				for i, st := range statuses(b) {
					if st != engine.Accepted {
						t.Fatalf("event %d: %v", i, st)
					}
				}
			}
			wantVersion, wantConflicts := 2, 0
			if op == "create" {
				wantVersion, wantConflicts = 1, 10
			}
			docs := es.Docs()
			if len(docs) != 10 || es.Conflicts() != wantConflicts {
				t.Fatalf("%d documents, %d conflicts; want 10 and %d", len(docs), es.Conflicts(), wantConflicts)
			}
			for _, d := range docs {
				if d.Version != wantVersion {
					t.Fatalf("document %s version %d, want %d", d.ID, d.Version, wantVersion)
				}
			}
		})
	}
}
