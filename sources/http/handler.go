package http

import (
	"crypto/rand"
	"encoding/binary"
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
	"unsafe"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/eventjson"
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
	l.handlers.Add(1)
	defer l.handlers.Done()
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

// batches hands out request batches: first from a free list that keeps up to freeBytes of buffers across garbage
// collections (a sync.Pool is emptied by each one, and with few requests in flight every request then grew new
// buffers: a perf profile of one sender was dominated by the collector and fresh pages), then from a sync.Pool.
var batches = &batchPool{pool: sync.Pool{New: func() any { return new(batch) }}}

// freeBytes bounds the buffers the free list keeps; MemoryBeyondQueue counts it.
const freeBytes = 16 << 20

type batchPool struct {
	pool sync.Pool

	mu    sync.Mutex
	free  []*batch
	bytes int64 // the buffers' capacity held by free
}

func (p *batchPool) Get() *batch {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		p.bytes -= b.capacity()
		p.mu.Unlock()
		return b
	}
	p.mu.Unlock()
	return p.pool.Get().(*batch)
}

func (p *batchPool) Put(b *batch) {
	size := b.capacity()
	p.mu.Lock()
	if p.bytes+size <= freeBytes {
		p.free = append(p.free, b)
		p.bytes += size
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.pool.Put(b)
}

// capacity is the bytes of b's largest buffers.
func (b *batch) capacity() int64 {
	return int64(cap(b.body) + cap(b.arena) + cap(b.events)*int(unsafe.Sizeof(engine.Event{})))
}

// maxPooled is the largest buffer a pooled batch keeps: one large request must not pin its memory for good, but
// the bulk sizes senders use by default (Filebeat's 1600 events, Vector's and Fluent Bit's few MiB) are reused:
// allocating them for every request cost the 10-sender NDJSON benchmark more than half its throughput.
const maxPooled = 4 << 20

// putBatch returns b to the pool unless one of its buffers grew past maxPooled.
func putBatch(b *batch) {
	if cap(b.body) > maxPooled || cap(b.arena) > maxPooled || cap(b.events)*int(unsafe.Sizeof(engine.Event{})) > maxPooled {
		return
	}
	b.budget = nil
	batches.Put(b)
}

// pending is a published request: the handler and the completion callback both hold its batch; the last one
// done with it returns it to the pool (a handler that gave up leaves it to the callback).
type pending struct {
	b      *batch
	done   chan struct{}
	owners atomic.Int32

	mu       sync.Mutex
	dropped  []error // by event index: the reason an output rejected it without a dead letter; nil: none was
	ndropped int
}

func (p *pending) release() {
	if p.owners.Add(-1) == 0 {
		putBatch(p.b)
	}
}

// drop records an event an output rejected without a dead letter (engine.Stream.Dropped).
func (p *pending) drop(pos int64, reason error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dropped == nil {
		p.dropped = make([]error, len(p.b.events))
	}
	if i := pos - 1; i >= 0 && int(i) < len(p.dropped) && p.dropped[i] == nil {
		p.dropped[i] = reason
		p.ndropped++
	}
}

// ingest reads and parses the whole body, publishes its events as one callback stream and answers once every
// output is done with them: 200 (with the format's answer), or 429 when the queue is full, or 503 after
// ack_timeout. index is the index of a /<index>/_bulk path.
func (l *listener) ingest(w http.ResponseWriter, r *http.Request, fam family, k kind, index string) {
	started := time.Now()
	b := batches.Get()
	var reserved int64
	defer func() { l.inflight.release(reserved) }()
	body, status, err := l.readBody(w, r, b.body[:0], &reserved)
	b.reset(body, l.cfg.FieldsUnderRoot, started)
	if err != nil {
		putBatch(b)
		l.refuseRead(w, r, fam, status, err)
		return
	}
	b.budget, b.chunk = &l.parsing, eventChunk(l.parsing.max)
	err = l.parse(b, fam, k, index)
	parsed := b.reserved
	defer func() { l.parsing.release(parsed) }()
	b.budget, b.reserved = nil, 0
	if err != nil {
		putBatch(b)
		if errors.Is(err, errEventBudget) {
			if parsed+int64(eventChunk(l.parsing.max))*eventCost > l.parsing.max { // alone, it would not fit
				l.refuse(w, fam, http.StatusRequestEntityTooLarge, err)
				return
			}
			l.tooMany(w, fam, errBusy)
			return
		}
		l.stats.reject(RejectMalformed)
		l.refuse(w, fam, http.StatusBadRequest, err)
		return
	}
	n := len(b.events)
	if n == 0 { // a bulk body of refused actions only, or an empty array
		l.answer(w, b, nil, fam, k, started)
		putBatch(b)
		return
	}
	p := &pending{b: b, done: make(chan struct{})}
	p.owners.Store(2)
	st := engine.NewCallbackStream(l.input, n, func() {
		close(p.done)
		p.release()
	})
	st.Dropped = p.drop
	st.Extra = sourceExtra(r.RemoteAddr)
	if k == kindRaw {
		st.Extra = l.rawFields(st.Extra, r)
	}
	st.IDSeed = l.requestSeed(r, body)
	b.finish(st)
	ok, err := l.try.TryPublishWait(r.Context(), b.events, queueWait)
	// Queued, the events count against the queue's bounds: the body no longer needs a place in the budgets.
	l.inflight.release(reserved)
	l.parsing.release(parsed)
	reserved, parsed = 0, 0
	if !ok {
		putBatch(b) // nothing queued, and the callback never runs
		l.refusePublish(w, r, fam, err)
		return
	}
	l.paused.Store(false)
	l.stats.events.Add(uint64(n))
	l.stats.bytes.Add(uint64(len(body)))
	defer p.release()
	timer := time.NewTimer(l.cfg.AckTimeout)
	defer timer.Stop()
	select {
	case <-p.done:
		p.mu.Lock() // the drops happened before done; the lock makes that visible to the race detector too
		defer p.mu.Unlock()
		if p.ndropped > 0 {
			l.stats.reject(RejectOutput)
		}
		l.answer(w, b, p, fam, k, started)
	case <-timer.C:
		l.stats.reject(RejectAckTimeout)
		w.Header().Set("Retry-After", strconv.Itoa(ackRetryAfter))
		l.refuse(w, fam, http.StatusServiceUnavailable, errAckTimeout)
	case <-l.abort:
		l.stats.reject(RejectStopping)
		w.Header().Set("Retry-After", "1")
		l.refuse(w, fam, http.StatusServiceUnavailable, errStopping)
	case <-r.Context().Done():
		l.stats.reject(RejectClientGone) // the events stay queued and are delivered
	}
}

// requestSeed is the seed of a request's event ids. A sender that names its request (Idempotency-Key or
// X-Request-Id, the same on its retries) gets ids from that name and the body: a retry repeats them, and the
// Elasticsearch output overwrites. Without one, the seed is new for every request: identical bodies from two
// senders (or two lines logged twice) must not collapse into one document, so a retry duplicates instead.
func (l *listener) requestSeed(r *http.Request, body []byte) [16]byte {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		key = r.Header.Get("X-Request-Id")
	}
	if key != "" {
		return engine.SeedID([]byte(l.input.Name), []byte(key), body)
	}
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], requestCount.Add(1))
	return engine.SeedID([]byte(l.input.Name), processNonce[:], n[:])
}

var (
	// processNonce makes the seeds of requests without a key differ from one run of flicker to the next.
	processNonce = func() (n [16]byte) {
		_, _ = rand.Read(n[:])
		return n
	}()
	requestCount atomic.Uint64
)

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
	out := eventjson.AppendString([]byte(`,"source":{"address":`), []byte(host))
	if p, err := strconv.Atoi(port); err == nil {
		out = strconv.AppendInt(append(out, `,"port":`...), int64(p), 10)
	}
	return append(out, '}')
}
