package elasticsearch

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/eventjson"
	"github.com/flickerlog/flicker/internal/httpclient"
	"github.com/flickerlog/flicker/internal/rejectsplit"
)

// Buffers kept between batches are capped, so that one huge batch does not pin its memory.
const (
	maxKeptBuffer = 8 << 20
	maxKeptItems  = 1 << 16
	// maxDrain is how much of a response body is read, after the sink is done with it, so that the connection
	// can be reused; a longer rest is dropped with the connection.
	maxDrain = 4 << 20
)

// Sink writes batches to Elasticsearch (or OpenSearch) with the _bulk API.
type Sink struct {
	cfg       Config
	log       zerolog.Logger
	transport *http.Transport
	client    *http.Client
	pool      *hostPool
	header    http.Header // the headers of every request, Authorization included: never logged
	reqHost   string      // a configured Host header
	gzip      bool

	// Used by Write only (the engine calls it one at a time).
	actions *actionWriter
	enc     eventjson.Encoder
	body    []byte // the batch's NDJSON: action and document lines of every event
	ends    []int  // ends[i] is where event i's lines end in body
	zbuf    bytes.Buffer
	zw      *gzip.Writer
	bodies  httpclient.Bodies // request bodies (slices of body or zbuf) the transport may still read
	parser  *responseParser
	res     bulkResult
	warns   rateLimit // item failures, failovers
	alarms  rateLimit // credentials refused, unexpected statuses

	refusals *rejectsplit.Budget // bounds the halves sent to isolate events of a request answered 400
}

// New checks cfg, reads ca_file, and returns a sink. It does not contact the cluster: an unreachable cluster
// shows as retries once events flow.
func New(cfg Config, log zerolog.Logger) (*Sink, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	index, err := parseIndex(cfg.Index)
	if err != nil {
		return nil, err // Validate has checked it
	}
	log = log.With().Str("component", "sink.elasticsearch").Logger()
	tlsConf, err := tlsConfig(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.InsecureSkipVerify {
		log.Warn().Msg("insecure_skip_verify is set: the cluster's TLS certificates are not verified")
	}
	dialer := &net.Dialer{Timeout: min(cfg.Timeout, 10*time.Second), KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   min(cfg.Timeout, 10*time.Second),
		MaxIdleConnsPerHost:   2, // one worker sends one request at a time
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	s := &Sink{
		cfg:       cfg,
		log:       log,
		transport: transport,
		client:    &http.Client{Transport: transport, Timeout: cfg.Timeout, CheckRedirect: httpclient.CheckRedirect},
		pool:      newHostPool(cfg.Hosts),
		header:    make(http.Header),
		gzip:      cfg.Compression == CompressionGzip,
		actions:   newActionWriter(cfg.OpType, index),
		parser:    newResponseParser(),
		refusals:  rejectsplit.New(log),
	}
	for name, value := range cfg.Headers {
		if http.CanonicalHeaderKey(name) == "Host" {
			s.reqHost = value
			continue
		}
		s.header.Set(name, value)
	}
	s.header.Set("Content-Type", "application/x-ndjson")
	s.header.Set("Accept", "application/json")
	switch {
	case cfg.APIKey != "":
		s.header.Set("Authorization", "ApiKey "+encodeAPIKey(cfg.APIKey))
	case cfg.Username != "":
		s.header.Set("Authorization", "Basic "+
			base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+cfg.Password)))
	}
	if s.gzip {
		s.header.Set("Content-Encoding", "gzip")
		// Level 1: shippers are CPU-bound long before the network is; it still shrinks logs several times.
		s.zw, _ = gzip.NewWriterLevel(&s.zbuf, gzip.BestSpeed)
	}
	return s, nil
}

// encodeAPIKey accepts the "id:key" form and the base64 "encoded" form that the create API key API returns.
func encodeAPIKey(k string) string {
	if strings.Contains(k, ":") {
		return base64.StdEncoding.EncodeToString([]byte(k))
	}
	return k
}

func tlsConfig(cfg Config) (*tls.Config, error) {
	// InsecureSkipVerify is the user's explicit choice; New warns about it.
	conf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify}
	if cfg.CAFile == "" {
		return conf, nil
	}
	pem, err := os.ReadFile(cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca_file %s: no PEM certificate found", cfg.CAFile)
	}
	conf.RootCAs = pool
	return conf, nil
}

// Write sends the batch as one or more _bulk requests (bulk_max_bytes each, uncompressed), halving a request
// answered 413 or 400 (see doc.go), and marks every event as the package documentation describes. When a request fails as a whole and its events are to be retried,
// Write returns that error and marks the requests not sent yet Retry too: the cluster is unlikely to take them.
func (s *Sink) Write(ctx context.Context, b *engine.Batch) error {
	n := b.Len()
	if n == 0 {
		return nil
	}
	if !s.bodies.Wait(ctx, s.cfg.Timeout) {
		s.body, s.zbuf = nil, bytes.Buffer{} // a transport may still read them: leave them to it
	}
	s.encode(b)
	defer s.trim()
	s.refusals.StartBatch()
	var failed error
	for lo := 0; lo < n; {
		hi := s.chunkEnd(lo)
		if failed == nil {
			failed = s.send(ctx, b, lo, hi)
		} else {
			s.retryRange(b, lo, hi, failed)
		}
		lo = hi
	}
	return failed
}

// Close closes idle connections. A Write still running ends with its context or the request timeout.
func (s *Sink) Close(context.Context) error {
	s.transport.CloseIdleConnections()
	return nil
}

// InvalidUTF8 is the number of events written with invalid UTF-8 replaced.
func (s *Sink) InvalidUTF8() int64 { return s.enc.InvalidUTF8.Load() }

// encode renders the batch into s.body: per event an action line and the document line. An event whose _id
// Elasticsearch would refuse is rejected here and gets no lines: Elasticsearch validates every action before it
// runs any, so one such _id would fail the whole request (400 action_request_validation_exception) and take the
// other events of the request with it.
func (s *Sink) encode(b *engine.Batch) {
	body, ends := s.body[:0], s.ends[:0]
	dead := b.DeadLetter()
	for i := range b.Events {
		ev := &b.Events[i]
		if n := idBytes(ev); n > maxIDBytes {
			b.Reject(i, fmt.Errorf("_id of %d bytes: elasticsearch accepts at most %d, and would refuse the whole "+
				"request", n, maxIDBytes))
			ends = append(ends, len(body))
			continue
		}
		body = s.actions.appendAction(body, ev)
		if dead {
			body = s.enc.AppendDeadLetter(body, ev, b.Reason(i))
		} else {
			body = s.enc.Append(body, ev)
		}
		body = append(body, '\n')
		ends = append(ends, len(body))
	}
	s.body, s.ends = body, ends
}

// sent reports whether event i is in the request body: encode rejected the others.
func (s *Sink) sent(i int) bool { return s.ends[i] > s.start(i) }

// start is where event i's lines begin in s.body.
func (s *Sink) start(i int) int {
	if i == 0 {
		return 0
	}
	return s.ends[i-1]
}

// chunkEnd returns the end of the request starting at event lo: as many events as fit in bulk_max_bytes, and
// at least one.
func (s *Sink) chunkEnd(lo int) int {
	base, hi := s.start(lo), lo+1
	for hi < len(s.ends) && int64(s.ends[hi]-base) <= s.cfg.BulkMaxBytes {
		hi++
	}
	return hi
}

func (s *Sink) trim() {
	if cap(s.body) > maxKeptBuffer {
		s.body = nil
	}
	if cap(s.ends) > maxKeptItems {
		s.ends = nil
	}
	if s.zbuf.Cap() > maxKeptBuffer {
		s.zbuf = bytes.Buffer{}
	}
	if cap(s.res.items) > maxKeptItems {
		s.res.items = nil
	}
}

// retryRange marks the events of [lo, hi) that were sent Retry.
func (s *Sink) retryRange(b *engine.Batch, lo, hi int, err error) {
	for i := lo; i < hi; i++ {
		if s.sent(i) {
			b.Retry(i, err)
		}
	}
}

// send posts events [lo, hi) and marks them. It returns an error when the request failed as a whole and its
// events are to be retried.
func (s *Sink) send(ctx context.Context, b *engine.Batch, lo, hi int) error {
	payload := s.body[s.start(lo):s.ends[hi-1]]
	if len(payload) == 0 {
		return nil // encode rejected every event of the range
	}
	resp, h, err := s.post(ctx, payload)
	if err != nil {
		s.retryRange(b, lo, hi, err)
		return err
	}
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		s.refusals.Accepted()
		err := s.parser.readResponse(resp.Body, s.sentIn(lo, hi), &s.res)
		closeBody(resp)
		if err != nil {
			err = fmt.Errorf("read _bulk response of %s: %w", h.name, err)
			s.retryRange(b, lo, hi, err)
			return err
		}
		return s.markItems(b, lo, hi, h)
	}
	serr := &StatusError{Host: h.name, Status: code}
	if code >= 300 && code < 400 {
		serr.Reason = httpclient.NotFollowed(resp)
	} else {
		serr.Reason = readErrorReason(resp.Body)
	}
	closeBody(resp)
	switch {
	case code == http.StatusRequestEntityTooLarge && hi-lo > 1:
		return s.sendHalves(ctx, b, lo, hi)
	case code == http.StatusRequestEntityTooLarge:
		b.Reject(lo, fmt.Errorf("event of %d bytes is larger than elasticsearch accepts in a request "+
			"(http.max_content_length): %w", s.ends[lo]-s.start(lo), serr))
		return nil
	case code == http.StatusBadRequest:
		// Elasticsearch read the request and refuses its content: sending it again would get the same answer,
		// but the answer does not say which event it refused. Halves find the events refused alone.
		n := s.sentIn(lo, hi)
		split, whole := s.refusals.Refused(n)
		if split {
			return s.sendHalves(ctx, b, lo, hi)
		}
		var why error = serr
		if whole != "" {
			why = fmt.Errorf("refused with the %d events of its request, %s: %w", n, whole, serr)
		}
		for i := lo; i < hi; i++ {
			if s.sent(i) {
				b.Reject(i, why)
			}
		}
		return nil
	case code == http.StatusTooManyRequests:
		s.retryRange(b, lo, hi, serr)
		return serr
	default:
		// Every other status (3xx, 401, 403, 404, 405, 408, 409, 415, ...) is a host, credential or proxy
		// problem an operator fixes: rejecting would drop every event until then.
		if ok, suppressed := s.alarms.allow(); ok {
			s.log.Error().Err(serr).Int64("suppressed", suppressed).Msg(statusHint(code))
		}
		s.retryRange(b, lo, hi, serr)
		return serr
	}
}

// sendHalves sends [lo, mid) then [mid, hi); when the first half fails, the second is marked Retry unsent.
func (s *Sink) sendHalves(ctx context.Context, b *engine.Batch, lo, hi int) error {
	mid := lo + (hi-lo)/2
	if err := s.send(ctx, b, lo, mid); err != nil {
		s.retryRange(b, mid, hi, err)
		return err
	}
	return s.send(ctx, b, mid, hi)
}

// sentIn is how many events of [lo, hi) are in the request body.
func (s *Sink) sentIn(lo, hi int) int {
	n := 0
	for i := lo; i < hi; i++ {
		if s.sent(i) {
			n++
		}
	}
	return n
}

// statusHint tells the operator what a whole request answered code probably needs.
func statusHint(code int) string {
	const kept = "; events are kept and retried"
	switch {
	case code == http.StatusUnauthorized:
		return "elasticsearch refused the credentials: check api_key or username and password" + kept
	case code == http.StatusForbidden:
		return "elasticsearch denied the request: check the privileges (create_doc, create_index on the index)" +
			kept
	case code == http.StatusNotFound:
		return "no _bulk endpoint at this host: check hosts (a path prefix?)" + kept
	case code == http.StatusMethodNotAllowed:
		return "the host does not take POST to _bulk: check hosts (a proxy in front, a path prefix?)" + kept
	case code == http.StatusNotAcceptable || code == http.StatusUnsupportedMediaType:
		return "the host refuses the request's format: check compression (a proxy without gzip?) and headers" +
			kept
	case code >= 300 && code < 400:
		return "the host redirects, and this redirect is not followed (the error says why): set hosts to the " +
			"final location" + kept
	default:
		return "unexpected status from elasticsearch: check hosts, headers and any proxy in front" + kept
	}
}

// post sends payload to the first host that answers with a status below 500, failing over on network errors
// and 5xx. The caller closes the response body.
func (s *Sink) post(ctx context.Context, payload []byte) (*http.Response, *host, error) {
	body := payload
	if s.gzip {
		if !s.bodies.Wait(ctx, s.cfg.Timeout) {
			s.zbuf = bytes.Buffer{} // a transport may still read the last request's: leave it to it
		}
		s.zbuf.Reset()
		s.zw.Reset(&s.zbuf)
		_, _ = s.zw.Write(payload) // a bytes.Buffer does not fail
		_ = s.zw.Close()
		body = s.zbuf.Bytes()
	}
	var lastErr error
	for k, h := range s.pool.attemptOrder() {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("post to %s: %w", h.name, err)
		}
		if k > 0 {
			if ok, suppressed := s.warns.allow(); ok {
				s.log.Warn().Err(lastErr).Str("next", h.name).Int64("suppressed", suppressed).
					Msg("elasticsearch host failed, trying the next")
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.bulkURL, http.NoBody)
		if err != nil {
			return nil, nil, fmt.Errorf("request to %s: %w", h.name, err)
		}
		req.Body, req.ContentLength = s.bodies.Add(body), int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return s.bodies.Add(body), nil }
		req.Header = s.header.Clone()
		if s.reqHost != "" {
			req.Host = s.reqHost
		}
		resp, err := s.client.Do(req)
		if err != nil {
			var uerr *url.Error
			if errors.As(err, &uerr) {
				err = uerr.Err // the URL is h.name plus the query
			}
			if ctx.Err() != nil {
				return nil, nil, fmt.Errorf("post to %s: %w", h.name, ctx.Err())
			}
			lastErr = fmt.Errorf("post to %s: %w", h.name, err)
			s.pool.failed(h)
			continue
		}
		if resp.StatusCode >= 500 {
			lastErr = &StatusError{Host: h.name, Status: resp.StatusCode, Reason: readErrorReason(resp.Body)}
			closeBody(resp)
			s.pool.failed(h)
			continue
		}
		s.pool.succeeded(h)
		return resp, h, nil
	}
	return nil, nil, lastErr
}

// markItems marks events [lo, hi) from the parsed response.
func (s *Sink) markItems(b *engine.Batch, lo, hi int, h *host) error {
	actions := s.sentIn(lo, hi)
	if s.res.skipped {
		for i := lo; i < hi; i++ {
			if s.sent(i) {
				b.Accept(i)
			}
		}
		return nil
	}
	if len(s.res.items) != actions {
		err := fmt.Errorf("_bulk response of %s has %d items for %d actions", h.name, len(s.res.items), actions)
		s.retryRange(b, lo, hi, err)
		return err
	}
	var rejected, retried int
	var example, alarm *ItemError
	for k, i := 0, lo; k < len(s.res.items); k, i = k+1, i+1 {
		for !s.sent(i) { // items answer the sent events, in order
			i++
		}
		it := &s.res.items[k]
		st := it.status
		switch {
		case st >= 200 && st < 300, st == http.StatusConflict:
			b.Accept(i)
			continue
		case st == 0:
			b.Retry(i, errNoItemStatus)
			retried++
			continue
		}
		e := it.err
		if e == nil {
			e = &ItemError{}
		}
		e.Status = st
		switch {
		case st == http.StatusTooManyRequests || st >= 500:
			b.Retry(i, e)
			retried++
		case st == http.StatusUnauthorized || st == http.StatusForbidden || st == http.StatusNotFound:
			// Missing privileges on the target index, or a missing index (index_not_found_exception when
			// indices are not created automatically), get fixed: keep the events, as for a whole request.
			b.Retry(i, e)
			retried++
			if alarm == nil {
				alarm = e
			}
		default:
			b.Reject(i, e)
			rejected++
		}
		if example == nil {
			example = e
		}
	}
	if alarm != nil {
		if ok, suppressed := s.alarms.allow(); ok {
			s.log.Error().Err(alarm).Int64("suppressed", suppressed).Msg(itemHint(alarm.Status))
		}
	}
	if example != nil {
		if ok, suppressed := s.warns.allow(); ok {
			s.log.Warn().Err(example).Int("rejected", rejected).Int("retried", retried).Int("items", actions).
				Int64("suppressed", suppressed).Msg("elasticsearch refused some events")
		}
	}
	return nil
}

// itemHint tells the operator what an item answered status (401, 403 or 404) probably needs.
func itemHint(status int) string {
	if status == http.StatusNotFound {
		return "elasticsearch has no such index and does not create it: create the index, or the index " +
			"template of the data stream, or allow action.auto_create_index for it; events are kept and retried"
	}
	return "elasticsearch denied writing to the index: check the index privileges (create_doc, create_index); " +
		"events are kept and retried"
}

// closeBody reads what is left of a response body, up to maxDrain, so that the connection can be reused.
func closeBody(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
	_ = resp.Body.Close()
}

// rateLimit lets one message a second through and counts the ones it held back. Only Write uses it.
type rateLimit struct {
	last       time.Time
	suppressed int64
}

func (r *rateLimit) allow() (ok bool, suppressed int64) {
	now := time.Now()
	if now.Sub(r.last) < time.Second {
		r.suppressed++
		return false, 0
	}
	r.last = now
	suppressed, r.suppressed = r.suppressed, 0
	return true, suppressed
}
