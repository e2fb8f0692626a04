package http_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	httpsrc "github.com/flickerlog/flicker/sources/http"
)

func TestBulkAnswersItemByItem(t *testing.T) {
	t.Parallel()
	s := startServer(t, httpsrc.Config{}, engine.QueueLimits{})
	body := `{"index":{"_index":"logs","_id":"doc-1"}}
{"message":"one","@timestamp":"2026-11-21T10:00:00Z"}
{"create":{}}
{"log":"two"}
{"delete":{"_index":"logs","_id":"x"}}
{"update":{"_index":"logs","_id":"y"}}
{"doc":{"a":1}}
`
	r := send(t, "POST", s.url+"/default/_bulk", []byte(body), "Content-Type", "application/x-ndjson")
	if r.status != 200 || r.header.Get("X-Elastic-Product") != "Elasticsearch" {
		t.Fatalf("answer %d %v %s", r.status, r.header, r.body)
	}
	ans := decode(t, r.body)
	items, _ := ans["items"].([]any)
	if ans["errors"] != true || len(items) != 4 {
		t.Fatalf("answer %s: want errors true and 4 items", r.body)
	}
	want := []struct {
		action, index string
		status        float64
	}{{"index", "logs", 201}, {"create", "default", 201}, {"delete", "logs", 400}, {"update", "logs", 400}}
	for i, w := range want {
		it, _ := items[i].(map[string]any)[w.action].(map[string]any)
		if it == nil || it["_index"] != w.index || it["status"] != w.status {
			t.Errorf("item %d = %v, want %s on %s with %v", i, items[i], w.action, w.index, w.status)
		}
		if w.status == 400 && field(it, "error", "type") == nil {
			t.Errorf("item %d refused without an error: %v", i, it)
		}
	}
	evs := s.sink.Events()
	if len(evs) != 2 || evs[0]["message"] != "one" || evs[1]["message"] != "two" {
		t.Fatalf("events %v, want the index and create documents", evs)
	}
	if evs[0]["id"] != "doc-1" || items[1].(map[string]any)["create"].(map[string]any)["_id"] != evs[1]["id"] {
		t.Errorf("ids: events %v / %v, items %v", evs[0]["id"], evs[1]["id"], items)
	}
	if evs[0]["@timestamp"] != "2026-11-21T10:00:00.000000000Z" {
		t.Errorf("@timestamp %v", evs[0]["@timestamp"])
	}
}

// Filebeat's and Fluent Bit's _bulk bodies as their documentation shows them: Filebeat sends create actions
// for data streams, Fluent Bit index actions with its own time key and the record's log.
func TestBulkBodiesOfFilebeatAndFluentBit(t *testing.T) {
	t.Parallel()
	s := startServer(t, httpsrc.Config{}, engine.QueueLimits{})
	filebeat := `{"create":{"_index":"filebeat-8.19.0"}}
{"@timestamp":"2026-11-21T10:00:00.123Z","message":"GET /index.html 200","log":{"offset":0,"file":{"path":"/var/log/nginx/access.log"}},"input":{"type":"filestream"},"ecs":{"version":"8.0.0"},"host":{"name":"web-1"},"agent":{"type":"filebeat","version":"8.19.0"}}
`
	fluentbit := `{"index":{"_index":"fluent-bit","_type":"_doc"}}
{"@timestamp":"2026-11-21T10:00:01.000Z","log":"hello from a container\n","stream":"stdout","time":"2026-11-21T10:00:01.000000000Z"}
`
	for _, body := range []string{filebeat, fluentbit} {
		r := send(t, "POST", s.url+"/_bulk?filter_path=errors,items.*.error,items.*.status", []byte(body),
			"Content-Type", "application/x-ndjson")
		if r.status != 200 || decode(t, r.body)["errors"] != false {
			t.Fatalf("answer %d %s", r.status, r.body)
		}
	}
	evs := s.sink.Events()
	if len(evs) != 2 || evs[0]["message"] != "GET /index.html 200" || evs[1]["message"] != "hello from a container\n" {
		t.Fatalf("events %v", evs)
	}
	if field(evs[0], "fields", "host", "name") != "web-1" || field(evs[1], "fields", "stream") != "stdout" {
		t.Errorf("documents not kept: %v", evs)
	}
}

func TestElasticsearchNodeEndpoints(t *testing.T) {
	t.Parallel()
	s := startServer(t, httpsrc.Config{}, engine.QueueLimits{})
	for _, c := range []struct {
		method, path string
		check        func(map[string]any) bool
	}{
		{"GET", "/", func(m map[string]any) bool {
			v, _ := field(m, "version", "number").(string)
			return strings.HasPrefix(v, "8.") && m["tagline"] == "You Know, for Search"
		}},
		{"HEAD", "/", nil},
		{"GET", "/_license", func(m map[string]any) bool { return field(m, "license", "status") == "active" }},
		{"GET", "/_xpack", func(m map[string]any) bool { return field(m, "license", "status") == "active" }},
		{"GET", "/_cluster/health", func(m map[string]any) bool { return m["status"] == "green" }},
		{"HEAD", "/_index_template/filebeat-8.19.0", nil},
		{"GET", "/_index_template/logstash", func(m map[string]any) bool { return m["index_templates"] != nil }},
		{"PUT", "/_index_template/logstash", func(m map[string]any) bool { return m["acknowledged"] == true }},
		{"GET", "/_ilm/policy/filebeat", func(m map[string]any) bool { return m["filebeat"] != nil }},
		{"PUT", "/_ilm/policy/filebeat", func(m map[string]any) bool { return m["acknowledged"] == true }},
		{"GET", "/_data_stream/logs-generic-default", func(m map[string]any) bool { return m["data_streams"] != nil }},
		{"GET", "/_nodes/http", func(m map[string]any) bool { return m["_nodes"] != nil }},
		{"HEAD", "/logs", nil},
	} {
		r := send(t, c.method, s.url+c.path, nil)
		if r.status != 200 || r.header.Get("X-Elastic-Product") != "Elasticsearch" {
			t.Errorf("%s %s: %d %v", c.method, c.path, r.status, r.header)
			continue
		}
		if c.check != nil && !c.check(decode(t, r.body)) {
			t.Errorf("%s %s: answer %s", c.method, c.path, r.body)
		}
	}
	if r := send(t, "GET", s.url+"/_unknown_api", nil); r.status != 404 {
		t.Errorf("GET /_unknown_api: %d, want 404", r.status)
	}
}

func TestHECEndpoints(t *testing.T) {
	t.Parallel()
	s := startServer(t, httpsrc.Config{AuthToken: "hec-token"}, engine.QueueLimits{})
	auth := []string{"Authorization", "Splunk hec-token"}
	body := `{"time":1764237600.25,"host":"h1","source":"app","sourcetype":"json","index":"main","event":"first","fields":{"env":"prod"}}
{"event":{"message":"second","code":7},"time":"1764237601"}`
	r := send(t, "POST", s.url+"/services/collector/event", []byte(body), auth...)
	if r.status != 200 || string(r.body) != "{\"text\":\"Success\",\"code\":0}\n" {
		t.Fatalf("answer %d %s", r.status, r.body)
	}
	r = send(t, "POST", s.url+"/services/collector/raw?sourcetype=x", []byte("raw one\r\nraw two\n"), auth...)
	if r.status != 200 {
		t.Fatalf("raw: %d %s", r.status, r.body)
	}
	evs := s.sink.Events()
	if len(evs) != 4 {
		t.Fatalf("events %v", evs)
	}
	if evs[0]["message"] != "first" || evs[0]["@timestamp"] != "2025-11-27T10:00:00.250000000Z" ||
		field(evs[0], "fields", "host") != "h1" || field(evs[0], "fields", "sourcetype") != "json" ||
		field(evs[0], "fields", "index") != "main" || field(evs[0], "fields", "fields", "env") != "prod" {
		t.Errorf("event 0: %v", evs[0])
	}
	if evs[1]["message"] != "second" || evs[1]["@timestamp"] != "2025-11-27T10:00:01.000000000Z" {
		t.Errorf("event 1: %v", evs[1])
	}
	if evs[2]["message"] != "raw one" || evs[3]["message"] != "raw two" || field(evs[2], "fields", "sourcetype") != "x" {
		t.Errorf("raw events: %v %v", evs[2], evs[3])
	}
	for _, c := range []struct {
		name, path, body string
		headers          []string
		status           int
		answer           string
	}{
		{"no token", "/services/collector/event", `{"event":"x"}`, nil, 401, `{"text":"Token is required","code":2}`},
		{"bad token", "/services/collector/event", `{"event":"x"}`, []string{"Authorization", "Splunk nope"}, 403, `{"text":"Invalid token","code":4}`},
		{"no data", "/services/collector/event", ``, auth, 400, `{"text":"No data","code":5}`},
		{"not json", "/services/collector/event", `event=x`, auth, 400, `{"text":"Invalid data format","code":6,"invalid-event-number":0}`},
		{"no event", "/services/collector/event", `{"event":"a"}{"time":1}`, auth, 400, `{"text":"Event field is required","code":12,"invalid-event-number":1}`},
		{"blank event", "/services/collector/event", `{"event":""}`, auth, 400, `{"text":"Event field cannot be blank","code":13,"invalid-event-number":0}`},
		{"bad time", "/services/collector/event", `{"event":"a","time":"yesterday"}`, auth, 400, `{"text":"Invalid data format","code":6,"invalid-event-number":0}`},
		{"health", "/services/collector/health", ``, nil, 200, `{"text":"HEC is healthy","code":17}`},
	} {
		r := send(t, "POST", s.url+c.path, []byte(c.body), c.headers...)
		if r.status != c.status || strings.TrimSpace(string(r.body)) != c.answer {
			t.Errorf("%s: %d %s, want %d %s", c.name, r.status, r.body, c.status, c.answer)
		}
	}
	if n := len(s.sink.Events()); n != 4 {
		t.Errorf("refused requests shipped events: %d in the output", n)
	}
}

func TestTokenSchemes(t *testing.T) {
	t.Parallel()
	s := startServer(t, httpsrc.Config{AuthToken: "s3cret"}, engine.QueueLimits{})
	basic := func(user, pw string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw)) }
	apiKey := "ApiKey " + base64.StdEncoding.EncodeToString([]byte("key-id:s3cret"))
	bulk := "{\"create\":{\"_index\":\"x\"}}\n{\"message\":\"m\"}\n"
	for _, c := range []struct {
		name, path, body, auth string
		status                 int
	}{
		{"bearer on /", "/", `{"message":"m"}`, "Bearer s3cret", 200},
		{"wrong bearer on /", "/", `{"message":"m"}`, "Bearer s3cre", 401},
		{"none on /", "/", `{"message":"m"}`, "", 401},
		{"basic on / is not taken", "/", `{"message":"m"}`, basic("u", "s3cret"), 401},
		{"basic password on _bulk", "/_bulk", bulk, basic("elastic", "s3cret"), 200},
		{"wrong basic password on _bulk", "/_bulk", bulk, basic("elastic", "other"), 401},
		{"ApiKey token on _bulk", "/_bulk", bulk, "ApiKey s3cret", 200},
		{"ApiKey base64 id:key on _bulk", "/_bulk", bulk, apiKey, 200},
		{"bearer on _bulk", "/_bulk", bulk, "Bearer s3cret", 200},
		{"none on GET /", "", "", "", 401},
		{"basic on GET /", "", "", basic("elastic", "s3cret"), 200},
		{"Splunk on HEC", "/services/collector/event", `{"event":"e"}`, "Splunk s3cret", 200},
		{"Splunk on /", "/", `{"message":"m"}`, "Splunk s3cret", 401},
	} {
		method, path := "POST", c.path
		if path == "" {
			method, path = "GET", "/"
		}
		var headers []string
		if c.auth != "" {
			headers = []string{"Authorization", c.auth}
		}
		r := send(t, method, s.url+path, []byte(c.body), headers...)
		if r.status != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, r.status, r.body, c.status)
		}
		if c.status == 401 && path == "/_bulk" && r.header.Get("X-Elastic-Product") != "Elasticsearch" {
			t.Errorf("%s: a 401 on _bulk without the product header", c.name)
		}
	}
}

func TestBodySizeAndCompression(t *testing.T) {
	t.Parallel()
	s := startServer(t, httpsrc.Config{MaxBodyBytes: 1000}, engine.QueueLimits{})
	line := []byte(`{"message":"` + strings.Repeat("x", 80) + `"}` + "\n")
	small := bytes.Repeat(line, 5)  // 470 bytes
	large := bytes.Repeat(line, 20) // 1880 bytes: over the limit once decompressed
	gz, zs := httpsrc.Gzipped, httpsrc.Zstded
	if len(gz(large)) >= 1000 || len(zs(large)) >= 1000 {
		t.Fatal("the compressed large body should be under the limit")
	}
	for _, c := range []struct {
		name     string
		body     []byte
		encoding string
		status   int
	}{
		{"plain", small, "", 200},
		{"gzip", gz(small), "gzip", 200},
		{"zstd", zs(small), "zstd", 200},
		{"too large", large, "", 413},
		{"gzip too large decompressed", gz(large), "gzip", 413},
		{"zstd too large decompressed", zs(large), "zstd", 413},
		{"corrupt gzip", []byte("not gzip at all"), "gzip", 400},
		{"unknown encoding", small, "br", 415},
	} {
		var headers []string
		if c.encoding != "" {
			headers = []string{"Content-Encoding", c.encoding}
		}
		r := send(t, "POST", s.url+"/", c.body, headers...)
		if r.status != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, r.status, r.body, c.status)
		}
	}
	// A body without Content-Length (chunked) is cut at the limit too.
	req, _ := http.NewRequest("POST", s.url+"/", struct{ *bytes.Reader }{bytes.NewReader(large)})
	req.ContentLength = -1
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("chunked too large: %d, want 413", resp.StatusCode)
	}
	if n := len(s.sink.Events()); n != 15 {
		t.Errorf("the output has %d events, want the 3 accepted bodies' 15", n)
	}
	st, _ := s.src.Stats("ingest")
	if st.Rejected[httpsrc.RejectTooLarge] != 4 {
		t.Errorf("too_large rejections %d, want 4", st.Rejected[httpsrc.RejectTooLarge])
	}
}

// A request is answered only once the output has its events: while the output blocks, the request stays open.
func TestAnswerWaitsForTheOutput(t *testing.T) {
	t.Parallel()
	s := startServer(t, httpsrc.Config{}, engine.QueueLimits{})
	s.sink.Block()
	answered := make(chan response, 1)
	go func() { answered <- sendAsync("POST", s.url+"/", []byte("{\"message\":\"a\"}\n{\"message\":\"b\"}\n")) }()
	eventually(t, func() bool { return s.sink.Writes() > 0 }, "the output never got the batch")
	select {
	case r := <-answered:
		t.Fatalf("answered %d %s while the output had not accepted the events", r.status, r.body)
	case <-time.After(100 * time.Millisecond): // a 200 sent early would be here by now
	}
	s.sink.Unblock()
	if r := <-answered; r.status != 200 || len(s.sink.Events()) != 2 {
		t.Fatalf("after the output accepted: %d %s, %d events", r.status, r.body, len(s.sink.Events()))
	}
}

func TestQueueFullAnswers429AndQueuesNothing(t *testing.T) {
	t.Parallel()
	s := startServer(t, httpsrc.Config{}, engine.QueueLimits{MaxEvents: 4})
	s.sink.Block()
	answered := make(chan response, 1)
	go func() { answered <- sendAsync("POST", s.url+"/", []byte("\"a\"\n\"b\"\n\"c\"\n")) }()
	eventually(t, func() bool { return s.pipe.Stats().QueueEvents == 3 }, "the first request was not queued")
	r := send(t, "POST", s.url+"/", []byte("\"d\"\n\"e\"\n"))
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("second request: %d %v %s, want 429 with Retry-After", r.status, r.header, r.body)
	}
	if q := s.pipe.Stats().QueueEvents; q != 3 {
		t.Fatalf("the queue holds %d events after a 429, want only the first request's 3", q)
	}
	s.sink.Unblock()
	if r := <-answered; r.status != 200 {
		t.Fatalf("first request: %d %s", r.status, r.body)
	}
	if r := send(t, "POST", s.url+"/", []byte("\"d\"\n\"e\"\n")); r.status != 200 {
		t.Fatalf("the retry: %d %s", r.status, r.body)
	}
	if n := len(s.sink.Events()); n != 5 {
		t.Fatalf("the output has %d events, want 5", n)
	}
	st, _ := s.src.Stats("ingest")
	if st.TooManyRequests != 1 {
		t.Errorf("429s counted: %d, want 1", st.TooManyRequests)
	}
}

func TestAckTimeoutAnswers503AndStillDelivers(t *testing.T) {
	t.Parallel()
	s := startServer(t, httpsrc.Config{AckTimeout: 100 * time.Millisecond}, engine.QueueLimits{})
	s.sink.Block()
	r := send(t, "POST", s.url+"/", []byte("\"a\"\n\"b\"\n"))
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Fatalf("answer %d %v %s, want 503 with Retry-After", r.status, r.header, r.body)
	}
	s.sink.Unblock()
	eventually(t, func() bool { return len(s.sink.Events()) == 2 }, "the events of a timed-out request were not delivered")
}

// At a stop, a request in flight is still answered once the output takes its events: the source waits for it,
// and the outputs run until the source returned.
func TestStopFinishesRequestsInFlight(t *testing.T) {
	t.Parallel()
	s := startServer(t, httpsrc.Config{}, engine.QueueLimits{})
	s.sink.Block()
	answered := make(chan response, 1)
	go func() { answered <- sendAsync("POST", s.url+"/", []byte("\"a\"\n")) }()
	eventually(t, func() bool { return s.sink.Writes() > 0 }, "the output never got the batch")
	s.cancel() // the stop, with the output still blocked
	eventually(t, func() bool {
		resp, err := testClient.Get(s.url + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err != nil
	}, "the source still accepts connections after the stop")
	select {
	case r := <-answered:
		t.Fatalf("answered %d %s before the output took the events", r.status, r.body)
	default:
	}
	s.sink.Unblock()
	if r := <-answered; r.status != 200 {
		t.Fatalf("request in flight at the stop: %d %s %v, want 200", r.status, r.body, r.err)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(s.sink.Events()); n != 1 {
		t.Fatalf("the output has %d events, want 1", n)
	}
}

// Bodies being read are bounded in memory: past 4 × max_body_bytes reserved (the room of their buffers, as their
// bytes arrive), a request gets 429 before its body is read whole, and gets in once the others are done. Four
// bodies of exactly max_body_bytes fit beside each other.
func TestBodiesInFlightAreBounded(t *testing.T) {
	t.Parallel()
	s := startServer(t, httpsrc.Config{MaxBodyBytes: 1000}, engine.QueueLimits{})
	line := []byte("\"" + strings.Repeat("x", 97) + "\"\n") // 100 bytes
	var writers []*io.PipeWriter
	answered := make(chan response, 4)
	for range 4 {
		pr, pw := io.Pipe()
		writers = append(writers, pw)
		req, _ := http.NewRequest("POST", s.url+"/", pr)
		req.ContentLength = 1000 // exactly max_body_bytes: four of them fit
		go func() {
			resp, err := testClient.Do(req)
			if err != nil {
				answered <- response{err: err}
				return
			}
			resp.Body.Close()
			answered <- response{status: resp.StatusCode}
		}()
		if _, err := pw.Write(bytes.Repeat(line, 9)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, func() bool {
		st, _ := s.src.Stats("ingest")
		return st.BodyBytesInFlight >= 4*900
	}, "four bodies are not being read")
	r := send(t, "POST", s.url+"/", bytes.Repeat(line, 9))
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("a fifth body: %d %s, want 429 with Retry-After", r.status, r.body)
	}
	for _, pw := range writers {
		if _, err := pw.Write(line); err != nil {
			t.Fatal(err)
		}
		pw.Close()
	}
	for range 4 {
		if r := <-answered; r.status != 200 {
			t.Fatalf("a body read slowly: %d %v", r.status, r.err)
		}
	}
	if r := send(t, "POST", s.url+"/", bytes.Repeat(line, 9)); r.status != 200 {
		t.Fatalf("the retry: %d %s", r.status, r.body)
	}
	if st, _ := s.src.Stats("ingest"); st.BodyBytesInFlight != 0 {
		t.Fatalf("%d bytes still reserved after every request ended", st.BodyBytesInFlight)
	}
}
