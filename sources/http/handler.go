package http

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/flickerlog/flicker/engine"
)

// family is the kind of API an endpoint belongs to: it decides how credentials are given and how errors look.
type family uint8

const (
	famPlain family = iota // POST /: NDJSON or a JSON array
	famES                  // Elasticsearch: _bulk and the node endpoints
	famHEC                 // Splunk HEC
)

// kind is what a request's body holds.
type kind uint8

const (
	kindLines kind = iota // NDJSON, or a JSON array when it starts with '['
	kindBulk
	kindHEC
	kindRaw
)

func (l *listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.stats.requests.Add(1)
	path := r.URL.Path
	switch {
	case path == "/" && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		if !l.formats.has(fmtNDJSON | fmtArray) {
			l.notFound(w, r, famPlain)
			return
		}
		if l.authorized(w, r, famPlain) {
			l.ingest(w, r, famPlain, kindLines, "")
		}
	case strings.HasPrefix(path, "/services/collector"):
		l.serveHEC(w, r, strings.TrimSuffix(strings.TrimPrefix(path, "/services/collector"), "/1.0"))
	case !l.formats.has(fmtBulk):
		l.notFound(w, r, famPlain)
	default:
		l.serveES(w, r, path)
	}
}

func (l *listener) serveHEC(w http.ResponseWriter, r *http.Request, sub string) {
	if !l.formats.has(fmtHEC) {
		l.notFound(w, r, famHEC)
		return
	}
	switch sub {
	case "/health":
		writeHEC(w, &hecHealthy)
	case "", "/event":
		if r.Method != http.MethodPost {
			l.badMethod(w, famHEC)
		} else if l.authorized(w, r, famHEC) {
			l.ingest(w, r, famHEC, kindHEC, "")
		}
	case "/raw":
		if r.Method != http.MethodPost {
			l.badMethod(w, famHEC)
		} else if l.authorized(w, r, famHEC) {
			l.ingest(w, r, famHEC, kindRaw, "")
		}
	default:
		l.notFound(w, r, famHEC)
	}
}

// authorized checks the request's credentials against auth_token (in constant time) and answers 401 when they
// do not match. Bearer works everywhere; Splunk on HEC; the basic-auth password, ApiKey <token> and ApiKey
// base64(id:token) on the Elasticsearch endpoints.
func (l *listener) authorized(w http.ResponseWriter, r *http.Request, fam family) bool {
	if l.token == nil {
		return true
	}
	h := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	ok := false
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		ok = l.tokenIs(cred)
	case strings.EqualFold(scheme, "Splunk") && fam == famHEC:
		ok = l.tokenIs(cred)
	case strings.EqualFold(scheme, "Basic") && fam == famES:
		if _, pw, found := r.BasicAuth(); found {
			ok = l.tokenIs(pw)
		}
	case strings.EqualFold(scheme, "ApiKey") && fam == famES:
		ok = l.tokenIs(cred)
		if dec, err := base64.StdEncoding.DecodeString(cred); err == nil {
			if _, key, found := strings.Cut(string(dec), ":"); found && l.tokenIs(key) {
				ok = true
			}
		}
	}
	if ok {
		return true
	}
	l.stats.reject(RejectAuth)
	switch fam {
	case famHEC:
		e := &hecInvalidToken
		if h == "" {
			e = &hecTokenRequired
		} else if cred == "" {
			e = &hecInvalidAuth
		}
		writeHEC(w, e)
	case famES:
		w.Header().Add("WWW-Authenticate", `Basic realm="security", charset="UTF-8"`)
		w.Header().Add("WWW-Authenticate", "ApiKey")
		w.Header().Add("WWW-Authenticate", "Bearer")
		reason := "unable to authenticate with the provided credentials"
		if h == "" {
			reason = "missing authentication credentials for REST request [" + r.URL.Path + "]"
		}
		writeESError(w, http.StatusUnauthorized, "security_exception", reason)
	default:
		w.Header().Set("WWW-Authenticate", "Bearer")
		writePlainError(w, http.StatusUnauthorized, "missing or wrong token: send Authorization: Bearer <auth_token>")
	}
	return false
}

func (l *listener) tokenIs(cred string) bool {
	return subtle.ConstantTimeCompare([]byte(cred), l.token) == 1
}

var batches = sync.Pool{New: func() any { return new(batch) }}

// pending is a published request: the handler and the completion callback both hold its batch; the last one
// done with it returns it to the pool (a handler that gave up leaves it to the callback).
type pending struct {
	b      *batch
	done   chan struct{}
	owners atomic.Int32
}

func (p *pending) release() {
	if p.owners.Add(-1) == 0 {
		batches.Put(p.b)
	}
}

// ingest reads and parses the whole body, publishes its events as one callback stream and answers once every
// output is done with them: 200 (with the format's answer), or 429 when the queue is full, or 503 after
// ack_timeout. index is the index of a /<index>/_bulk path.
func (l *listener) ingest(w http.ResponseWriter, r *http.Request, fam family, k kind, index string) {
	started := time.Now()
	b := batches.Get().(*batch)
	var reserved int64
	defer func() { l.inflight.release(reserved) }()
	body, status, err := l.readBody(w, r, b.body[:0], &reserved)
	b.reset(body, l.cfg.FieldsUnderRoot, started)
	if err != nil {
		batches.Put(b)
		if status == http.StatusTooManyRequests {
			l.stats.reject(RejectQueueFull)
			w.Header().Set("Retry-After", "1")
		}
		l.refuse(w, fam, status, err)
		return
	}
	if err := l.parse(b, fam, k, index); err != nil {
		batches.Put(b)
		l.refuse(w, fam, http.StatusBadRequest, err)
		return
	}
	n := len(b.events)
	if n == 0 { // a bulk body of refused actions only, or an empty array
		l.answer(w, b, fam, k, started)
		batches.Put(b)
		return
	}
	p := &pending{b: b, done: make(chan struct{})}
	p.owners.Store(2)
	st := engine.NewCallbackStream(l.input, n, func() {
		close(p.done)
		p.release()
	})
	st.Extra = sourceExtra(r.RemoteAddr)
	if k == kindRaw {
		st.Extra = l.rawFields(st.Extra, r)
	}
	st.IDSeed = engine.SeedID([]byte(l.input.Name), body)
	b.finish(st)
	ok, err := l.publish(r.Context(), b.events)
	// Queued, the events count against the queue's bounds: the body no longer needs a place in the budget.
	l.inflight.release(reserved)
	reserved = 0
	if !ok {
		if l.try != nil {
			batches.Put(b) // nothing queued, and the callback never runs
		} // else Publish may have queued a part: the engine may still read the batch
		switch {
		case errors.Is(err, engine.ErrStopped):
			l.stats.reject(RejectStopping)
			w.Header().Set("Retry-After", "1")
			l.refuse(w, fam, http.StatusServiceUnavailable, errStopping)
		case r.Context().Err() != nil:
			l.stats.reject(RejectClientGone)
		default:
			l.stats.reject(RejectQueueFull)
			w.Header().Set("Retry-After", "1")
			l.refuse(w, fam, http.StatusTooManyRequests, errQueueFull)
		}
		return
	}
	l.stats.events.Add(uint64(n))
	l.stats.bytes.Add(uint64(len(body)))
	defer p.release()
	timer := time.NewTimer(l.cfg.AckTimeout)
	defer timer.Stop()
	select {
	case <-p.done:
		l.answer(w, b, fam, k, started)
	case <-timer.C:
		l.stats.reject(RejectAckTimeout)
		w.Header().Set("Retry-After", strconv.Itoa(ackRetryAfter))
		l.refuse(w, fam, http.StatusServiceUnavailable, errAckTimeout)
	case <-r.Context().Done():
		l.stats.reject(RejectClientGone) // the events stay queued and are delivered
	}
}

// ackRetryAfter is the Retry-After of a 503 after ack_timeout, in seconds: the outputs are slow or down.
const ackRetryAfter = 5

var (
	errQueueFull  = errors.New("the queue is full: retry after Retry-After")
	errAckTimeout = errors.New("the outputs did not take the events within ack_timeout: they stay queued; retry after Retry-After")
	errStopping   = errors.New("flicker is stopping: retry after Retry-After")
)

// publish queues events whole (TryPublish), or, when the pipeline's Publisher is hidden behind a decorator,
// with Publish waiting at most queueWait for room.
func (l *listener) publish(ctx context.Context, events []engine.Event) (bool, error) {
	if l.try != nil {
		return l.try.TryPublish(events)
	}
	ctx, cancel := context.WithTimeout(ctx, queueWait)
	defer cancel()
	if err := l.pub.Publish(ctx, events); err != nil {
		return false, err
	}
	return true, nil
}

// queueWait bounds a Publish without TryPublish: a part of the request may then be queued when it times out.
const queueWait = time.Second

func (l *listener) parse(b *batch, fam family, k kind, index string) error {
	if k != kindRaw && !utf8.Valid(b.body) {
		if fam == famHEC {
			return &hecInvalidFormat
		}
		return errNotUTF8
	}
	switch k {
	case kindBulk:
		idx := noRef
		if index != "" {
			off := len(b.arena)
			q, _ := json.Marshal(index) // a path segment, once per request
			b.arena = append(b.arena, q[1:len(q)-1]...)
			idx = b.arenaSince(off)
		}
		return b.parseBulk(idx)
	case kindHEC:
		return b.parseHEC()
	case kindRaw:
		return b.parseRaw()
	}
	if isArray(b.body) {
		if !l.formats.has(fmtArray) {
			return errors.New("the body is a JSON array and the json_array format is not enabled on this source")
		}
		return b.parseArray()
	}
	if !l.formats.has(fmtNDJSON) {
		return errors.New("the body is not a JSON array and the ndjson format is not enabled on this source")
	}
	return b.parseNDJSON()
}

// answer writes the 200 of a request whose events every output took.
func (l *listener) answer(w http.ResponseWriter, b *batch, fam family, k kind, started time.Time) {
	switch {
	case k == kindBulk:
		setESHeaders(w)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b.appendBulkResponse(nil, time.Since(started).Milliseconds()))
	case fam == famHEC:
		writeHEC(w, &hecSuccess)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(strconv.AppendInt(append([]byte(nil), `{"events":`...), int64(len(b.events)), 10))
		_, _ = w.Write([]byte("}\n"))
	}
}

// refuse writes an error answer in the family's form and counts it (429 and 503 are counted by the caller).
func (l *listener) refuse(w http.ResponseWriter, fam family, status int, err error) {
	switch status {
	case http.StatusBadRequest:
		l.stats.reject(RejectMalformed)
	case http.StatusRequestEntityTooLarge:
		l.stats.reject(RejectTooLarge)
	case http.StatusUnsupportedMediaType:
		l.stats.reject(RejectUnsupported)
	}
	l.log.Debug().Int("status", status).Err(err).Msg("request refused")
	switch fam {
	case famHEC:
		var he *hecError
		if !errors.As(err, &he) {
			e := hecBusy
			switch status {
			case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
				e = hecInvalidFormat
			}
			he = &e
		}
		e := *he
		e.status = status
		writeHEC(w, &e)
	case famES:
		typ := "parse_exception"
		switch status {
		case http.StatusRequestEntityTooLarge:
			typ = "content_too_long_exception"
		case http.StatusUnsupportedMediaType:
			typ = "illegal_argument_exception"
		case http.StatusTooManyRequests:
			typ = "es_rejected_execution_exception"
		case http.StatusServiceUnavailable:
			typ = "unavailable_shards_exception"
		}
		writeESError(w, status, typ, err.Error())
	default:
		writePlainError(w, status, err.Error())
	}
}

func (l *listener) notFound(w http.ResponseWriter, r *http.Request, fam family) {
	l.stats.reject(RejectUnsupported)
	switch fam {
	case famHEC:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"text":"The requested URL was not found on this server.","code":404}`))
	case famES:
		writeESError(w, http.StatusNotFound, "resource_not_found_exception", "no handler found for uri ["+r.URL.Path+"] and method ["+r.Method+"]")
	default:
		writePlainError(w, http.StatusNotFound, "no endpoint "+r.Method+" "+r.URL.Path+" on this source (formats: "+strings.Join(l.cfg.Formats, ", ")+")")
	}
}

func (l *listener) badMethod(w http.ResponseWriter, fam family) {
	l.stats.reject(RejectUnsupported)
	if fam == famES {
		writeESError(w, http.StatusMethodNotAllowed, "illegal_argument_exception", "method not allowed")
		return
	}
	writePlainError(w, http.StatusMethodNotAllowed, "method not allowed")
}

func writeHEC(w http.ResponseWriter, e *hecError) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(e.status)
	out := append([]byte(`{"text":"`), e.text...)
	out = append(append(out, `","code":`...), strconv.Itoa(e.code)...)
	if e.index >= 0 {
		out = append(append(out, `,"invalid-event-number":`...), strconv.Itoa(e.index)...)
	}
	_, _ = w.Write(append(out, "}\n"...))
}

func writePlainError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	out, _ := json.Marshal(struct {
		Error  string `json:"error"`
		Status int    `json:"status"`
	}{msg, status})
	_, _ = w.Write(append(out, '\n'))
}

// writeESError writes an error the way Elasticsearch does.
func writeESError(w http.ResponseWriter, status int, typ, reason string) {
	setESHeaders(w)
	w.WriteHeader(status)
	type cause struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	}
	out, _ := json.Marshal(struct {
		Error struct {
			RootCause []cause `json:"root_cause"`
			cause
		} `json:"error"`
		Status int `json:"status"`
	}{Error: struct {
		RootCause []cause `json:"root_cause"`
		cause
	}{[]cause{{typ, reason}}, cause{typ, reason}}, Status: status})
	_, _ = w.Write(out)
}

// rawFields appends the host, source, sourcetype and index query parameters of an HEC raw request, which carry
// what the event endpoint takes in each event's document, as the events' fields (at the top with
// fields_under_root, where source is left out: it is the sender's address there).
func (l *listener) rawFields(extra []byte, r *http.Request) []byte {
	q := r.URL.Query()
	n := 0
	for _, k := range hecRawParams {
		if q.Has(k) && !(l.cfg.FieldsUnderRoot && k == "source") {
			if n == 0 && !l.cfg.FieldsUnderRoot {
				extra = append(extra, `,"fields":{`...)
			} else if n > 0 || l.cfg.FieldsUnderRoot {
				extra = append(extra, ',')
			}
			key, _ := json.Marshal(k)
			val, _ := json.Marshal(q.Get(k))
			extra = append(append(append(extra, key...), ':'), val...)
			n++
		}
	}
	if n > 0 && !l.cfg.FieldsUnderRoot {
		extra = append(extra, '}')
	}
	return extra
}

var hecRawParams = []string{"host", "source", "sourcetype", "index"}

// sourceExtra renders the sender's address as the stream's `source` member.
func sourceExtra(remote string) []byte {
	host, port, err := net.SplitHostPort(remote)
	if err != nil {
		host, port = remote, ""
	}
	out := append([]byte(`,"source":{"address":`), strconv.Quote(host)...)
	if p, err := strconv.Atoi(port); err == nil {
		out = strconv.AppendInt(append(out, `,"port":`...), int64(p), 10)
	}
	return append(out, '}')
}
