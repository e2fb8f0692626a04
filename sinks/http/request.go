package httpout

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/httpclient"
)

var (
	openBracket  = []byte{'['}
	closeBracket = []byte{']'}
)

// maxDrainBytes is how much of a response body is read (and discarded) so that its connection can be reused.
const maxDrainBytes = 64 << 10

// baseHeader builds the headers every request carries but the Idempotency-Key, and returns a configured Host
// header apart, since net/http takes it from Request.Host.
func baseHeader(cfg Config) (http.Header, string) {
	h := make(http.Header)
	h.Set("User-Agent", "flicker")
	if cfg.Format == FormatJSONArray {
		h.Set("Content-Type", "application/json")
	} else {
		h.Set("Content-Type", "application/x-ndjson")
	}
	if cfg.Compression == CompressionGzip {
		h.Set("Content-Encoding", "gzip")
	}
	var host string
	for k, v := range cfg.Headers {
		if http.CanonicalHeaderKey(k) == "Host" {
			host = v
			continue
		}
		h.Set(k, v)
	}
	switch a := cfg.Auth; {
	case a.BearerToken != "":
		h.Set("Authorization", "Bearer "+a.BearerToken)
	case a.Username != "":
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(a.Username+":"+a.Password)))
	}
	return h, host
}

func isHTTPS(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "https"
}

// encode renders every event of b into s.raw, each followed by its separator, and records where each starts.
func (s *Sink) encode(b *engine.Batch) {
	sep := byte('\n')
	if s.cfg.Format == FormatJSONArray {
		sep = ','
	}
	raw, offs := s.raw[:0], append(s.offs[:0], 0)
	dead := b.DeadLetter()
	for i := range b.Events {
		if dead {
			raw = s.enc.AppendDeadLetter(raw, &b.Events[i], b.Reason(i))
		} else {
			raw = s.enc.Append(raw, &b.Events[i])
		}
		raw = append(raw, sep)
		offs = append(offs, len(raw))
	}
	s.raw, s.offs = raw, offs
}

// body returns the request body of events [lo, hi): a slice of s.raw when it can be sent as is, else built in
// s.wire. It stays valid until the next call.
func (s *Sink) body(ctx context.Context, lo, hi int) []byte {
	chunk := s.raw[s.offs[lo]:s.offs[hi]]
	array := s.cfg.Format == FormatJSONArray
	if array {
		chunk = chunk[:len(chunk)-1] // the last separator
	}
	if s.gz == nil && !array {
		return chunk
	}
	if !s.bodies.Wait(ctx, s.cfg.Timeout) {
		// An earlier body is still being read: give the transport its buffers, and let the next batch start
		// a fresh raw one too (a body may be a slice of it).
		s.wire, s.rawShared = nil, true
	}
	if s.gz == nil {
		w := append(s.wire[:0], '[')
		w = append(w, chunk...)
		s.wire = append(w, ']')
		return s.wire
	}
	s.gzOut.b = s.wire[:0]
	s.gz.Reset(&s.gzOut)
	// Writes to an appendWriter cannot fail.
	if array {
		_, _ = s.gz.Write(openBracket)
	}
	_, _ = s.gz.Write(chunk)
	if array {
		_, _ = s.gz.Write(closeBracket)
	}
	_ = s.gz.Close()
	s.wire, s.gzOut.b = s.gzOut.b, nil
	return s.wire
}

// appendWriter is an io.Writer appending to a reusable slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// idempotencyKey is the request's Idempotency-Key: 128 bits of SHA-256 over the ids of events [lo, hi), each
// length-prefixed, after the format and whether the batch is a dead letter (the same events in another body
// must not share a key). The same events give the same key in any process.
func (s *Sink) idempotencyKey(b *engine.Batch, lo, hi int) string {
	buf := append(s.idBuf[:0], "flicker-http-v1\x00"...)
	buf = append(buf, s.cfg.Format...)
	if b.DeadLetter() {
		buf = append(buf, "\x00dead-letter"...)
	}
	buf = append(buf, 0)
	for i := lo; i < hi; i++ {
		n := len(buf)
		buf = b.Events[i].AppendID(append(buf, 0, 0, 0, 0))
		binary.BigEndian.PutUint32(buf[n:], uint32(len(buf)-n-4))
	}
	s.idBuf = buf
	s.keyHash.Reset()
	_, _ = s.keyHash.Write(buf)
	var sum [32]byte
	return hex.EncodeToString(s.keyHash.Sum(sum[:0])[:16])
}

// post sends one request. It returns the status code and, for a status other than 2xx, the error describing it,
// or a network error (including the request timeout) with err.
func (s *Sink) post(ctx context.Context, b *engine.Batch, lo, hi int, body []byte) (int, *StatusError, error) {
	rctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, s.cfg.URL, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("post to %s: %w", s.safeURL, err)
	}
	req.Header = s.header.Clone()
	req.Header.Set("Idempotency-Key", s.idempotencyKey(b, lo, hi))
	if s.host != "" {
		req.Host = s.host
	}
	req.ContentLength = int64(len(body))
	req.Body = s.bodies.Add(body)
	req.GetBody = func() (io.ReadCloser, error) { return s.bodies.Add(body), nil }
	resp, err := s.client.Do(req)
	if err != nil {
		// url.Error quotes the URL, whose query may hold a key: keep the cause only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		switch {
		case ctx.Err() != nil:
			err = ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			err = fmt.Errorf("no response within the timeout of %s: %w", s.cfg.Timeout, err)
		}
		return 0, nil, fmt.Errorf("post %d events to %s: %w", hi-lo, s.safeURL, err)
	}
	defer resp.Body.Close()
	code := resp.StatusCode
	out := classify(code)
	if out == accept {
		_, _ = io.CopyN(io.Discard, resp.Body, maxDrainBytes)
		return code, nil, nil
	}
	var snippet [maxReasonBytes]byte
	n, _ := io.ReadFull(resp.Body, snippet[:])
	_, _ = io.CopyN(io.Discard, resp.Body, maxDrainBytes)
	se := &StatusError{Code: code, Body: cleanReason(snippet[:n])}
	if code >= 300 && code < 400 {
		se.Body = httpclient.NotFollowed(resp)
	}
	if out == retry || out == retryLoud {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			se.RetryAfter = min(d, s.cfg.MaxRetryAfter)
			s.holdUntil(time.Now().Add(se.RetryAfter))
		}
	}
	return code, se, nil
}
