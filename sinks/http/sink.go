package httpout

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"hash"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/eventjson"
	"github.com/flickerlog/flicker/internal/httpclient"
	"github.com/flickerlog/flicker/internal/rejectsplit"
)

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("http sink closed")

const (
	// maxKeptBuffer caps each encoding buffer kept between batches, so one huge batch does not pin its memory.
	maxKeptBuffer = 8 << 20
	// loudLogInterval rate-limits the error logged for statuses an operator must fix.
	loudLogInterval = 10 * time.Second
	// tooLargeMemory is how long the smallest body answered 413 is remembered: bodies at least that large are
	// split before sending instead of being refused again, until the server may have raised its limit.
	tooLargeMemory = 10 * time.Minute
	// gzipLevel trades ratio for speed: the output must keep up with reading files.
	gzipLevel = gzip.BestSpeed
)

// Sink POSTs batches of events to an HTTP endpoint.
type Sink struct {
	cfg       Config
	log       zerolog.Logger
	safeURL   string // the URL with secrets redacted, for logs and errors
	transport *http.Transport
	client    *http.Client
	header    http.Header // every request's headers but the Idempotency-Key
	host      string      // a configured Host header
	closed    atomic.Bool

	// Used by Write only (the engine calls it one at a time).
	enc       eventjson.Encoder
	raw       []byte // the batch encoded: each event followed by its separator
	offs      []int  // offs[i] is where event i starts in raw; offs[n] == len(raw)
	wire      []byte // the body when it is not a slice of raw: gzip output, or the bracketed array
	gz        *gzip.Writer
	gzOut     appendWriter
	keyHash   hash.Hash
	idBuf     []byte
	bodies    httpclient.Bodies // request bodies the transport may still read
	rawShared bool              // a body still being read may be a slice of raw: do not reuse it
	notBefore *atomic.Int64     // unix nanoseconds: no request before then (a server's Retry-After); shared by workers
	tooLarge  int               // the smallest body size answered 413, 0 when none recently
	tooLargeT time.Time         // when tooLarge was learned
	loudLast  time.Time         // last loud error log
	loudSkip  int               // loud logs suppressed since

	refusals *rejectsplit.Budget // bounds the halves sent to isolate events answered 400
}

// New returns a sink posting to cfg.URL, one request at a time (cfg.Workers is for NewWorkers). It reads
// cfg.CAFile; it does not connect before the first Write.
func New(cfg Config, log zerolog.Logger) (*Sink, error) {
	sinks, err := newSinks(cfg, 1, log)
	if err != nil {
		return nil, err
	}
	return sinks[0], nil
}

// NewWorkers returns cfg.Workers sinks for one output, to be spread over by engine.SinkPool: each sends its own
// requests, and they share the connection pool and the server's Retry-After, so that a 429 holds every worker
// back, not only the one that got it.
func NewWorkers(cfg Config, log zerolog.Logger) ([]*Sink, error) {
	cfg.SetDefaults()
	return newSinks(cfg, cfg.Workers, log)
}

func newSinks(cfg Config, n int, log zerolog.Logger) ([]*Sink, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	safeURL := redactURL(cfg.URL)
	log = log.With().Str("component", "sink.http").Str("url", safeURL).Logger()
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify}
	if cfg.CAFile != "" {
		pool, err := loadCAFile(cfg.CAFile)
		if err != nil {
			return nil, err
		}
		tlsCfg.RootCAs = pool
	}
	if cfg.InsecureSkipVerify {
		log.Warn().Msg("insecure_skip_verify is set: the server's certificate is not verified, so anyone on " +
			"the path can read and alter the events and credentials")
	}
	if (cfg.CAFile != "" || cfg.InsecureSkipVerify) && !isHTTPS(cfg.URL) {
		log.Warn().Msg("ca_file and insecure_skip_verify apply to https only; this url is plain http")
	}
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          max(4, n),
		MaxIdleConnsPerHost:   max(4, n),
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       tlsCfg,
	}
	client := &http.Client{Transport: transport, CheckRedirect: httpclient.CheckRedirect}
	header, host := baseHeader(cfg)
	notBefore := new(atomic.Int64)
	sinks := make([]*Sink, n)
	for i := range sinks {
		wlog := log
		if n > 1 {
			wlog = log.With().Int("worker", i).Logger()
		}
		s := &Sink{cfg: cfg, log: wlog, safeURL: safeURL, transport: transport, client: client, header: header,
			host: host, keyHash: sha256.New(), notBefore: notBefore, refusals: rejectsplit.New(wlog)}
		if cfg.Compression == CompressionGzip {
			s.gz, _ = gzip.NewWriterLevel(nil, gzipLevel) // the level is valid
		}
		sinks[i] = s
	}
	return sinks, nil
}

func loadCAFile(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca_file %s: no PEM certificate found", path)
	}
	return pool, nil
}

// Write POSTs the batch as one request, or, when the server answers 413 or 400, as halves split recursively
// (for 400 within the bounds of internal/rejectsplit). Each event is accepted (2xx), rejected (422, a single
// event answered 400 or 413, or a range answered 400 beyond those bounds) or marked Retry. On the first
// retryable failure the events not sent yet are marked Retry too and Write returns the failure. A Retry-After
// wait is not spent here: the next Write starts with it (see doc.go).
func (s *Sink) Write(ctx context.Context, b *engine.Batch) error {
	if s.closed.Load() {
		return ErrClosed
	}
	n := b.Len()
	if n == 0 {
		return nil
	}
	if err := s.waitRetryAfter(ctx); err != nil {
		return retryRange(b, 0, n, err)
	}
	if !s.bodies.Wait(ctx, s.cfg.Timeout) || s.rawShared {
		// A transport may still read an old body: leave those buffers to it.
		s.raw, s.wire, s.rawShared = nil, nil, false
	}
	s.encode(b)
	s.refusals.StartBatch()
	err := s.deliver(ctx, b, 0, n)
	if cap(s.raw) > maxKeptBuffer {
		s.raw = nil
	}
	if cap(s.wire) > maxKeptBuffer {
		s.wire = nil
	}
	return err
}

// deliver sends events [lo, hi) of b and marks them. It returns the error of the first retryable failure, after
// marking every event of the range it did not deliver as Retry.
func (s *Sink) deliver(ctx context.Context, b *engine.Batch, lo, hi int) error {
	body := s.body(ctx, lo, hi)
	if s.tooLarge > 0 && time.Since(s.tooLargeT) > tooLargeMemory {
		s.tooLarge = 0
	}
	if hi-lo > 1 && s.tooLarge > 0 && len(body) >= s.tooLarge {
		return s.deliverHalves(ctx, b, lo, hi)
	}
	code, reason, err := s.post(ctx, b, lo, hi, body)
	if err != nil {
		return retryRange(b, lo, hi, err)
	}
	switch classify(code) {
	case accept:
		s.refusals.Accepted()
		for i := lo; i < hi; i++ {
			b.Accept(i)
		}
		return nil
	case split:
		if s.tooLarge == 0 || len(body) < s.tooLarge {
			s.tooLarge, s.tooLargeT = len(body), time.Now()
		}
		if hi-lo > 1 {
			return s.deliverHalves(ctx, b, lo, hi)
		}
		b.Reject(lo, fmt.Errorf("the event is %d bytes encoded (%d in the request body), over the server's "+
			"request size limit: %w", s.offs[hi]-s.offs[lo]-1, len(body), reason))
		return nil
	case isolate:
		split, whole := s.refusals.Refused(hi - lo)
		if split {
			return s.deliverHalves(ctx, b, lo, hi)
		}
		var why error = reason
		if whole != "" {
			why = fmt.Errorf("refused with the %d events of its request, %s: %w", hi-lo, whole, reason)
		}
		for i := lo; i < hi; i++ {
			b.Reject(i, why)
		}
		return nil
	case reject:
		for i := lo; i < hi; i++ {
			b.Reject(i, reason)
		}
		return nil
	case retryLoud:
		s.logLoud(code, reason)
	}
	return retryRange(b, lo, hi, fmt.Errorf("post %d events: %w", hi-lo, reason))
}

// deliverHalves delivers [lo, mid) then [mid, hi); when the first half fails, the second is not sent.
func (s *Sink) deliverHalves(ctx context.Context, b *engine.Batch, lo, hi int) error {
	mid := lo + (hi-lo)/2
	if err := s.deliver(ctx, b, lo, mid); err != nil {
		return retryRange(b, mid, hi, err)
	}
	return s.deliver(ctx, b, mid, hi)
}

// retryRange marks events [lo, hi) of b as Retry with err and returns err.
func retryRange(b *engine.Batch, lo, hi int, err error) error {
	for i := lo; i < hi; i++ {
		b.Retry(i, err)
	}
	return err
}

// holdUntil keeps every worker from sending before t, unless a worker already holds them longer.
func (s *Sink) holdUntil(t time.Time) {
	for {
		cur := s.notBefore.Load()
		if cur >= t.UnixNano() || s.notBefore.CompareAndSwap(cur, t.UnixNano()) {
			return
		}
	}
}

// waitRetryAfter waits until the Retry-After of an earlier response has passed, or ctx ends.
func (s *Sink) waitRetryAfter(ctx context.Context) error {
	d := time.Until(time.Unix(0, s.notBefore.Load()))
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting %s for the server's Retry-After: %w", d.Round(time.Millisecond), ctx.Err())
	}
}

// logLoud logs a status an operator must fix at error level, at most once per loudLogInterval.
func (s *Sink) logLoud(code int, reason *StatusError) {
	now := time.Now()
	if !s.loudLast.IsZero() && now.Sub(s.loudLast) < loudLogInterval {
		s.loudSkip++
		return
	}
	s.log.Error().Int("status", code).Str("response", reason.Body).Int("suppressed", s.loudSkip).
		Msg(hint(code))
	s.loudLast, s.loudSkip = now, 0
}

// InvalidUTF8 is the number of events sent with invalid UTF-8 replaced.
func (s *Sink) InvalidUTF8() int64 { return s.enc.InvalidUTF8.Load() }

// Close makes later Writes fail with ErrClosed and closes the idle connections. A request still running ends
// with its Write's context.
func (s *Sink) Close(context.Context) error {
	s.closed.Store(true)
	s.transport.CloseIdleConnections()
	return nil
}
