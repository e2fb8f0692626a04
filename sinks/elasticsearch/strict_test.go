package elasticsearch_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
	"github.com/flickerlog/flicker/sinks/elasticsearch"
	"github.com/flickerlog/flicker/sinks/elasticsearch/estest"
)

// What Elasticsearch 8 refuses and the emulator must refuse alike (the sources are cited in estest/bulk.go), and
// how the sink handles each.

// bulkAnswer is a raw _bulk exchange with the emulator.
type bulkAnswer struct {
	status int
	body   struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			Index  string `json:"_index"`
			Status int    `json:"status"`
			Error  struct {
				Type, Reason string
			} `json:"error"`
		} `json:"items"`
		Error struct {
			Type, Reason string
		} `json:"error"`
	}
}

func postBulk(t *testing.T, es *estest.Server, ndjson string) bulkAnswer {
	t.Helper()
	resp, err := http.Post(es.URL()+"/_bulk", "application/x-ndjson", strings.NewReader(ndjson))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := bulkAnswer{status: resp.StatusCode}
	if err := json.Unmarshal(data, &a.body); err != nil {
		t.Fatalf("answer %s: %v", data, err)
	}
	return a
}

// TestEmulatorRefusesAsElasticsearchDoes: an unknown parameter in an action line and an _id over 512 bytes fail
// the whole request before any action runs; an index action on a data stream fails its item only, and a create
// appends to the stream's backing index.
func TestEmulatorRefusesAsElasticsearchDoes(t *testing.T) {
	long := strings.Repeat("a", 513)
	tests := []struct {
		name   string
		opts   estest.Options
		ndjson string
		status int    // of the whole request
		typ    string // of the whole request's error
		reason string
		docs   int
	}{
		{"unknown parameter", estest.Options{},
			`{"index":{"_index":"logs","_id":"a"}}` + "\n{}\n" + `{"index":{"_index":"logs","_id":"b","x":1}}` + "\n{}\n",
			400, "illegal_argument_exception", "Action/metadata line [3] contains an unknown parameter [x]", 0},
		{"_type in Elasticsearch 8", estest.Options{},
			`{"index":{"_index":"logs","_id":"a","_type":"_doc"}}` + "\n{}\n",
			400, "illegal_argument_exception", "Action/metadata line [1] contains an unknown parameter [_type]", 0},
		{"_type in Elasticsearch 7", estest.Options{Flavor: estest.FlavorES7},
			`{"index":{"_index":"logs","_id":"a","_type":"_doc"}}` + "\n{}\n", 200, "", "", 1},
		{"known parameters", estest.Options{},
			`{"index":{"_index":"logs","_id":"a","routing":"r","pipeline":"p","require_alias":false}}` + "\n{}\n",
			200, "", "", 1},
		{"_id of 513 bytes", estest.Options{},
			`{"index":{"_index":"logs","_id":"ok"}}` + "\n{}\n" + `{"index":{"_index":"logs","_id":"` + long + `"}}` + "\n{}\n",
			400, "action_request_validation_exception",
			"Validation Failed: 1: id [" + long + "] is too long, must be no longer than 512 bytes but was: 513;", 0},
		{"refused field", estest.Options{RefuseField: "bad"},
			`{"index":{"_index":"logs","_id":"a"}}` + "\n{}\n" + `{"index":{"_index":"logs","_id":"b"}}` + "\n" + `{"x":1,"bad":true}` + "\n",
			400, "illegal_argument_exception", "a document of the request holds the refused field [bad]", 0},
		{"_id of 512 bytes", estest.Options{}, `{"index":{"_index":"logs","_id":"` + long[1:] + `"}}` + "\n{}\n",
			200, "", "", 1},
		{"_id of 513 bytes in UTF-8", estest.Options{},
			`{"create":{"_index":"logs","_id":"` + strings.Repeat("é", 256) + "a" + `"}}` + "\n{}\n",
			400, "action_request_validation_exception", "must be no longer than 512 bytes but was: 513;", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := estest.Start(t, tt.opts)
			a := postBulk(t, es, tt.ndjson)
			if a.status != tt.status || a.body.Error.Type != tt.typ || !strings.Contains(a.body.Error.Reason, tt.reason) {
				t.Fatalf("answer %d %s: %s, want %d %s: %s", a.status, a.body.Error.Type, a.body.Error.Reason,
					tt.status, tt.typ, tt.reason)
			}
			if es.DocCount() != tt.docs {
				t.Fatalf("%d documents stored, want %d", es.DocCount(), tt.docs)
			}
		})
	}

	t.Run("data stream", func(t *testing.T) {
		es := estest.Start(t, estest.Options{DataStreams: []string{"logs-app"}})
		a := postBulk(t, es, `{"index":{"_index":"logs-app","_id":"a"}}`+"\n{}\n"+
			`{"create":{"_index":"logs-app","_id":"b"}}`+"\n{}\n"+
			`{"index":{"_index":"logs-app","_id":"c","op_type":"create"}}`+"\n{}\n"+
			`{"index":{"_index":"plain","_id":"d"}}`+"\n{}\n")
		if a.status != 200 || !a.body.Errors || len(a.body.Items) != 4 {
			t.Fatalf("answer %d %+v", a.status, a.body)
		}
		refused := a.body.Items[0]["index"]
		if refused.Status != 400 || refused.Error.Type != "illegal_argument_exception" ||
			refused.Error.Reason != "only write ops with an op_type of create are allowed in data streams" {
			t.Fatalf("index action on a data stream: %+v", refused)
		}
		backing := es.BackingIndex("logs-app")
		if !strings.HasPrefix(backing, ".ds-logs-app-") {
			t.Fatalf("backing index %s", backing)
		}
		for k, op := range []string{"create", "index", "index"} {
			it := a.body.Items[k+1][op]
			want := backing
			if k == 2 {
				want = "plain"
			}
			if it.Status != 201 || it.Index != want {
				t.Fatalf("item %d: %+v, want 201 in %s", k+1, it, want)
			}
		}
		if _, ok := es.Doc(backing, "b"); !ok || es.DocCount() != 3 {
			t.Fatalf("%d documents; b in %s: %t", es.DocCount(), backing, ok)
		}
	})
}

// idEvents returns n events of an API-like stream whose own ids are "id-<k>", except those in ids.
func idEvents(n int, ids map[int][]byte) []engine.Event {
	evs := events(testStream(), 0, n)
	for i := range evs {
		evs[i].ID = fmt.Appendf(nil, "id-%d", i)
		if id, ok := ids[i]; ok {
			evs[i].ID = id
		}
	}
	return evs
}

// TestLongIDRejectedAlone: an event whose own id is longer than Elasticsearch's 512-byte _id limit (counted as
// Elasticsearch counts it, invalid UTF-8 replaced) is rejected by itself; the other events of the batch are
// indexed, and the items of the response still answer their own events. Elasticsearch would refuse the whole
// request, and the sink rejects every event of a whole-request 400.
func TestLongIDRejectedAlone(t *testing.T) {
	tooLong := map[int]bool{2: true, 5: true}
	ids := map[int][]byte{
		2: bytes.Repeat([]byte("a"), 513),
		3: bytes.Repeat([]byte("a"), 512),
		5: bytes.Repeat([]byte{0xff}, 171), // 513 bytes once each byte is U+FFFD
		6: bytes.Repeat([]byte{0xff}, 170), // 510
		7: []byte(strings.Repeat("é", 256)),
	}
	for _, opType := range []string{elasticsearch.OpIndex, elasticsearch.OpCreate} {
		t.Run(opType, func(t *testing.T) {
			es := estest.Start(t, estest.Options{})
			es.AlwaysFail("id-4", 400) // the items after a refused event still answer their own events
			s := newSink(t, elasticsearch.Config{Hosts: []string{es.URL()}, Index: "logs", OpType: opType})
			b := engine.NewBatch(idEvents(10, ids))
			if err := s.Write(t.Context(), b); err != nil {
				t.Fatal(err)
			}
			for i := range b.Len() {
				st, err := b.Status(i)
				switch {
				case tooLong[i] && (st != engine.Rejected || !strings.Contains(err.Error(), "elasticsearch accepts at most 512")):
					t.Fatalf("event %d: %v %v, want rejected for its _id", i, st, err)
				case i == 4 && (st != engine.Rejected || !strings.Contains(err.Error(), "mapper_parsing_exception")):
					t.Fatalf("event 4: %v %v, want rejected for its mapping", st, err)
				case !tooLong[i] && i != 4 && st != engine.Accepted:
					t.Fatalf("event %d: %v %v, want accepted", i, st, err)
				}
			}
			if es.DocCount() != 7 || es.Requests() != 1 {
				t.Fatalf("%d documents in %d requests, want 7 in 1", es.DocCount(), es.Requests())
			}
			// A batch of such events only sends nothing.
			b = engine.NewBatch(idEvents(1, map[int][]byte{0: ids[2]}))
			if err := s.Write(t.Context(), b); err != nil || statuses(b)[0] != engine.Rejected || es.Requests() != 1 {
				t.Fatalf("lone long _id: %v, %v, %d requests", err, statuses(b), es.Requests())
			}
		})
	}
}

// TestDataStreamOpTypes: with op_type index, Elasticsearch refuses every item on a data stream (400), and the
// engine records the events in the dead letter with that reason and acknowledges them; with op_type create they
// are appended to the backing index, and a replay is accepted (409) without a second copy.
func TestDataStreamOpTypes(t *testing.T) {
	t.Run("index", func(t *testing.T) {
		es := estest.Start(t, estest.Options{DataStreams: []string{"logs-app"}})
		in := &engine.Input{Name: "app", Type: "file"}
		content := enginetest.SuiteContent(1, 40)
		src := enginetest.NewPullSource(in, content)
		dl := enginetest.NewMemorySink()
		sink := newSink(t, elasticsearch.Config{Hosts: []string{es.URL()}, Index: "logs-app"})
		p := newPipeline(t, time.Second, engine.Output{Name: "es", Sink: sink, DeadLetter: dl})
		runToEnd(t, p, src)
		recs := dl.Records()
		if len(recs) != 40 {
			t.Fatalf("dead letter holds %d events, want 40", len(recs))
		}
		const reason = "output es: elasticsearch item status 400: illegal_argument_exception: only write ops " +
			"with an op_type of create are allowed in data streams"
		for _, r := range recs {
			if r.Reason != reason {
				t.Fatalf("dead letter reason %q, want %q", r.Reason, reason)
			}
		}
		for name := range content {
			if src.Acked(name) != 40 {
				t.Fatalf("stream %s acknowledged to %d", name, src.Acked(name))
			}
		}
		if es.DocCount() != 0 {
			t.Fatalf("%d documents stored", es.DocCount())
		}
	})
	t.Run("create", func(t *testing.T) {
		es := estest.Start(t, estest.Options{DataStreams: []string{"logs-app"}})
		s := newSink(t, elasticsearch.Config{Hosts: []string{es.URL()}, Index: "logs-app",
			OpType: elasticsearch.OpCreate})
		evs := events(testStream(), 0, 20)
		for round := range 2 {
			b := engine.NewBatch(evs)
			if err := s.Write(t.Context(), b); err != nil {
				t.Fatal(err)
			}
			for i, st := range statuses(b) {
				if st != engine.Accepted {
					t.Fatalf("round %d event %d: %v", round, i, st)
				}
			}
		}
		if es.DocCount() != 20 || es.Conflicts() != 20 {
			t.Fatalf("%d documents, %d conflicts, want 20 and 20", es.DocCount(), es.Conflicts())
		}
		if _, ok := es.Doc(es.BackingIndex("logs-app"), idOf(&evs[0])); !ok {
			t.Fatalf("event 0 not in %s", es.BackingIndex("logs-app"))
		}
	})
}

// TestWholeRequest400RejectsOnlyItsRequest: a whole request answered 400 (Elasticsearch read the request and
// refuses its content) is split until the refused event is isolated (reject_test.go); the other requests of the
// batch (bulk_max_bytes) are still sent and indexed, and an event rejected before sending keeps its own reason.
func TestWholeRequest400RejectsOnlyItsRequest(t *testing.T) {
	es := estest.Start(t, estest.Options{RefuseField: "bad"})
	s := newSink(t, elasticsearch.Config{Hosts: []string{es.URL()}, Index: "logs", BulkMaxBytes: 1200})
	evs := idEvents(12, map[int][]byte{1: bytes.Repeat([]byte("a"), 600)})
	evs[2].Extra = []byte(`,"bad":true`)
	b := engine.NewBatch(evs)
	if err := s.Write(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	if st, err := b.Status(1); st != engine.Rejected || !strings.Contains(err.Error(), "elasticsearch accepts at most 512") {
		t.Fatalf("event 1: %v %v, want rejected for its _id", st, err)
	}
	var outcomes strings.Builder
	for i := range b.Len() {
		st, err := b.Status(i)
		switch {
		case i == 1:
			outcomes.WriteByte('-')
		case st == engine.Rejected && strings.Contains(err.Error(), "status 400: illegal_argument_exception"):
			outcomes.WriteByte('R')
		case st == engine.Accepted:
			outcomes.WriteByte('A')
		default:
			t.Fatalf("event %d: %v %v", i, st, err)
		}
	}
	if got, want := outcomes.String(), "A-RAAAAAAAAA"; got != want {
		t.Fatalf("outcomes %s, want %s: only the refused event rejected", got, want)
	}
	if es.Requests() < 3 || es.DocCount() != 10 {
		t.Fatalf("%d requests, %d documents; outcomes %s", es.Requests(), es.DocCount(), outcomes.String())
	}
}
