package estest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Response flavors of the emulator: the members and their order differ as in the documentation of each.
const (
	FlavorES7        = "es7"         // items carry "_type":"_doc"; "errors" before "took", as the server writes it
	FlavorES8        = "es8"         // the Elasticsearch 8 reference: "took", "errors", "items"
	FlavorOpenSearch = "opensearch2" // OpenSearch 2: as ES 8, without _type
)

// Options configure an Server.
type Options struct {
	Flavor           string // default FlavorES8
	APIKey           string // when set, requests must carry "Authorization: ApiKey <APIKey>"
	User, Pass       string // when set, requests must carry basic credentials
	IgnoreFilterPath bool   // answer full items even when the request asks for filter_path
	MaxBody          int    // answer 413 to request bodies larger than this (uncompressed); 0: no limit
	// DiscardItems switches to accept-and-discard mode: every request is answered "errors":false with this many
	// items, without decompressing or parsing the body. For benchmarks.
	DiscardItems int
	// DataStreams are the names that are data streams: only create actions are allowed on them (an index action
	// is refused per item with 400), and documents go to the stream's backing index (see BackingIndex).
	DataStreams []string
	// LongFields are top-level document fields mapped as long: a document whose field holds anything but a
	// number or a string of an integer is refused per item with 400 mapper_parsing_exception.
	LongFields []string
	// RefuseField, when set, is a top-level document field that makes the whole request answer 400 before any
	// action runs, as a gateway in front of the cluster that validates documents does: the answer does not say
	// which action it refused.
	RefuseField string
	// OnIndexed, when set, is called once per request that indexed documents, with the source of every action
	// answered 2xx (a replay that overwrites an _id included), before the response is written. It may be called
	// from several requests at once.
	OnIndexed func(sources [][]byte)
	// OnReplyLost, when set, is called after OnIndexed for a request whose client went away before its answer
	// was written (a client that timed out): the client does not know the documents were indexed and sends them
	// again. It may be called from several requests at once.
	OnReplyLost func(sources [][]byte)
}

// Server is an httptest server emulating Elasticsearch's _bulk API as documented for Elasticsearch 7 and 8 and
// OpenSearch 2: NDJSON bodies (gzip when Content-Encoding says so) of action and document lines ending with a
// newline, ApiKey or Basic authentication, documents stored by (index, _id) so that op_type index overwrites
// (result "updated", _version incremented) and op_type create answers 409 version_conflict_engine_exception for an
// existing _id, per-item statuses with "errors":true, filter_path, and whole-request errors in Elasticsearch's
// error format. Like Elasticsearch 8 it parses and validates the whole request before applying any action: an
// unknown parameter in an action line or an _id longer than 512 bytes answers the whole request 400 (see bulk.go).
// Data streams (Options.DataStreams) take create actions only; fields mapped as long (Options.LongFields) refuse
// other values per item, as a mapping error does; a document with Options.RefuseField fails the whole request
// with 400. It can be told to answer chosen _ids with item errors, to fail whole requests, and to index a
// request and then never answer (a lost response); and, switched at run time from any goroutine (faults.go), to
// answer a seeded fraction of items 429, to fail every request, or to stall, with every delivery reported to
// Options.OnIndexed and counted by Deliveries.
type Server struct {
	t    testing.TB
	srv  *httptest.Server
	opts Options

	mu           sync.Mutex
	docs         map[docKey]*Doc
	order        []docKey            // first indexing order
	attempts     map[string]int      // actions received per _id
	itemFaults   map[string][]int    // _id -> statuses to answer, one per action received, before indexing it
	alwaysFail   map[string]int      // _id -> status answered to every action (mapping errors)
	reqFaults    []requestFault      // answers to the next whole requests
	hangAfter    int                 // once this many documents are stored, requests are indexed and never answered
	hung         int                 // requests left unanswered
	release      chan struct{}       // closed at cleanup: hung handlers abort
	requests     int                 // requests received with valid credentials
	gzipped      int                 // of which with a gzip body
	bodySizes    []int               // uncompressed body sizes of the requests parsed
	paths        []string            // request paths
	lastHeader   http.Header         // headers of the last request
	conflicts    int                 // 409 answers
	idMismatches []string            // documents whose "id" differs from their _id
	autoIDs      int                 // actions without _id
	discarded    map[int][]byte      // discard mode: responses by item count
	unauthorized int                 // 401 answers
	indexes      map[string]struct{} // indexes written to
	dataStreams  map[string]bool     // Options.DataStreams
	created      time.Time           // when the data streams were created: names their backing indexes
	deliveries   map[string]int      // every 2xx item by its document's "message", duplicates included
	runtime      runtimeFaults       // modes switched at run time (faults.go)
}

type docKey struct{ index, id string }

// Doc is a document the emulator holds.
type Doc struct {
	Index, ID string
	Version   int
	Source    map[string]any
}

// requestFault is the answer to one whole request.
type requestFault struct {
	status int
	body   string // raw body; empty for Elasticsearch's error body for the status
}

func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Flavor == "" {
		opts.Flavor = FlavorES8
	}
	e := &Server{t: t, opts: opts, docs: make(map[docKey]*Doc), attempts: make(map[string]int),
		itemFaults: make(map[string][]int), alwaysFail: make(map[string]int), release: make(chan struct{}),
		discarded: make(map[int][]byte), indexes: make(map[string]struct{}), dataStreams: make(map[string]bool), created: time.Now(),
		deliveries: make(map[string]int), runtime: runtimeFaults{changed: make(chan struct{})}}
	for _, name := range opts.DataStreams {
		e.dataStreams[name] = true
	}
	e.srv = httptest.NewServer(e)
	t.Cleanup(func() {
		close(e.release)
		e.srv.Close()
	})
	return e
}

// URL is the emulator's base URL.
func (e *Server) URL() string { return e.srv.URL }

// FailItem makes the next actions for _id id answer the given statuses, one per action, before it is indexed.
func (e *Server) FailItem(id string, statuses ...int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.itemFaults[id] = append(e.itemFaults[id], statuses...)
}

// AlwaysFail makes every action for _id id answer status (400: a mapping error).
func (e *Server) AlwaysFail(id string, status int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.alwaysFail[id] = status
}

// FailRequests makes the next whole requests answer the given statuses with Elasticsearch's error body.
func (e *Server) FailRequests(statuses ...int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, st := range statuses {
		e.reqFaults = append(e.reqFaults, requestFault{status: st})
	}
}

// AnswerNext makes the next whole request answer status with body as it is.
func (e *Server) AnswerNext(status int, body string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reqFaults = append(e.reqFaults, requestFault{status: status, body: body})
}

// HangAfter makes requests, once n documents are stored, index their documents and never answer; 0 turns it off.
func (e *Server) HangAfter(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.hangAfter = n
}

func (e *Server) locked(f func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f()
}

func (e *Server) Hung() (n int)      { e.locked(func() { n = e.hung }); return n }
func (e *Server) Requests() (n int)  { e.locked(func() { n = e.requests }); return n }
func (e *Server) Gzipped() (n int)   { e.locked(func() { n = e.gzipped }); return n }
func (e *Server) Conflicts() (n int) { e.locked(func() { n = e.conflicts }); return n }
func (e *Server) DocCount() (n int)  { e.locked(func() { n = len(e.docs) }); return n }
func (e *Server) Attempts(id string) (n int) {
	e.locked(func() { n = e.attempts[id] })
	return n
}
func (e *Server) BodySizes() (s []int) {
	e.locked(func() { s = slices.Clone(e.bodySizes) })
	return s
}
func (e *Server) Paths() (s []string) { e.locked(func() { s = slices.Clone(e.paths) }); return s }
func (e *Server) LastHeader() (h http.Header) {
	e.locked(func() { h = e.lastHeader.Clone() })
	return h
}
func (e *Server) IDMismatches() (s []string) {
	e.locked(func() { s = slices.Clone(e.idMismatches) })
	return s
}
func (e *Server) Unauthorized() (n int) { e.locked(func() { n = e.unauthorized }); return n }

// Docs returns the stored documents in the order they were first indexed.
func (e *Server) Docs() []Doc {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Doc, 0, len(e.order))
	for _, k := range e.order {
		out = append(out, *e.docs[k])
	}
	return out
}

// Doc returns the document stored under (index, id).
func (e *Server) Doc(index, id string) (Doc, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, ok := e.docs[docKey{index, id}]
	if !ok {
		return Doc{}, false
	}
	return *d, true
}

// BackingIndex is the write index of data stream name, where its documents are stored: Elasticsearch's
// .ds-<data-stream>-<yyyy.MM.dd>-<generation> with the generation of a stream never rolled over.
func (e *Server) BackingIndex(name string) string {
	return fmt.Sprintf(".ds-%s-%s-000001", name, e.created.UTC().Format("2006.01.02"))
}

// Indexed returns, for every stored document's "message", how many times it was indexed: its _version, which
// counts an overwrite by a replay (op_type index) as a second time.
func (e *Server) Indexed() map[string]int {
	out := make(map[string]int)
	for _, d := range e.Docs() {
		m, _ := d.Source["message"].(string)
		out[m] += d.Version
	}
	return out
}

// Messages returns the "message" of every stored document, in first indexing order.
func (e *Server) Messages() [][]byte {
	var out [][]byte
	for _, d := range e.Docs() {
		m, _ := d.Source["message"].(string)
		out = append(out, []byte(m))
	}
	return out
}

func (e *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/_bulk") {
		writeError(w, http.StatusMethodNotAllowed, "illegal_argument_exception",
			fmt.Sprintf("Incorrect HTTP method for uri [%s] and method [%s]", r.URL.Path, r.Method))
		return
	}
	if !e.authorized(r) {
		e.locked(func() { e.unauthorized++ })
		w.Header().Set("WWW-Authenticate", `ApiKey, Basic realm="security" charset="UTF-8"`)
		writeError(w, http.StatusUnauthorized, "security_exception",
			"unable to authenticate user for REST request [/_bulk]")
		return
	}
	var fault *requestFault
	e.locked(func() {
		e.requests++
		e.paths = append(e.paths, r.URL.Path)
		e.lastHeader = r.Header.Clone()
		if r.Header.Get("Content-Encoding") == "gzip" {
			e.gzipped++
		}
		if len(e.reqFaults) > 0 {
			fault = &e.reqFaults[0]
			e.reqFaults = e.reqFaults[1:]
		}
	})
	if fault != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		if fault.body != "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(fault.status)
			_, _ = io.WriteString(w, fault.body)
			return
		}
		typ, reason := errorFor(fault.status, "")
		writeError(w, fault.status, typ, reason)
		return
	}
	if status, ok := e.runtimeFault(r); !ok {
		panic(http.ErrAbortHandler) // the client or the server went away during a stall: no answer
	} else if status != 0 {
		_, _ = io.Copy(io.Discard, r.Body) // as for a queued fault: the client sees the answer, not a reset
		typ, reason := errorFor(status, "")
		writeError(w, status, typ, reason)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-ndjson") &&
		!strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusNotAcceptable, "media_type_header_exception",
			fmt.Sprintf("Content-Type header [%s] is not supported", ct))
		return
	}
	if e.opts.DiscardItems > 0 {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(e.discardResponse(e.opts.DiscardItems))
		return
	}
	body, err := readBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "parse_exception", err.Error())
		return
	}
	if e.opts.MaxBody > 0 && len(body) > e.opts.MaxBody {
		w.WriteHeader(http.StatusRequestEntityTooLarge) // Elasticsearch answers 413 with an empty body
		return
	}
	e.locked(func() { e.bodySizes = append(e.bodySizes, len(body)) })
	if len(body) == 0 {
		writeError(w, http.StatusBadRequest, "parse_exception", "request body is required")
		return
	}
	if body[len(body)-1] != '\n' {
		writeError(w, http.StatusBadRequest, "illegal_argument_exception",
			"The bulk request must be terminated by a newline [\\n]")
		return
	}
	items, indexed, status, typ, reason := e.bulk(bytes.Split(body[:len(body)-1], []byte("\n")))
	if status != 0 {
		writeError(w, status, typ, reason)
		return
	}
	if e.opts.OnIndexed != nil && len(indexed) > 0 {
		e.opts.OnIndexed(indexed)
	}
	resp := e.render(items, r.URL.Query().Get("filter_path"))
	var hang bool
	e.locked(func() {
		if e.hangAfter > 0 && len(e.docs) >= e.hangAfter {
			e.hung++
			hang = true
		}
	})
	if hang {
		select {
		case <-r.Context().Done():
		case <-e.release:
		}
		panic(http.ErrAbortHandler) // drop the connection without an answer
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(resp)
	if e.opts.OnReplyLost != nil && len(indexed) > 0 {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		if r.Context().Err() != nil { // the client closed its connection while the handler ran
			e.opts.OnReplyLost(indexed)
		}
	}
}

func (e *Server) authorized(r *http.Request) bool {
	switch {
	case e.opts.APIKey != "":
		return r.Header.Get("Authorization") == "ApiKey "+e.opts.APIKey
	case e.opts.User != "":
		u, p, ok := r.BasicAuth()
		return ok && u == e.opts.User && p == e.opts.Pass
	}
	return true
}

func readBody(r *http.Request) ([]byte, error) {
	var rd io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		rd = zr
	}
	return io.ReadAll(rd)
}
