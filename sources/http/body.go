package http

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

var (
	errTooLarge       = errors.New("the body is larger than max_body_bytes")
	gzipReaders       sync.Pool
	zstdDecoders      sync.Pool
	errBadEncoding    = errors.New("unsupported Content-Encoding: send identity, gzip or zstd")
	errBodyUnreadable = errors.New("the body could not be read")
	errBusy           = errors.New("too many request bodies in flight: retry after Retry-After")
)

// readBody reads the whole request body into buf (reusing its room), decompressing gzip and zstd. Both the body
// as sent and the decompressed one are capped at max_body_bytes: above either the status is 413. The buffer's
// room is reserved in the source's inflight budget as it grows with the bytes that arrive (up to the
// Content-Length, never beyond max_body_bytes; *reserved says how much, for the caller to release), so a sender
// that announces a large body and stalls holds little; when the budget is spent the status is 429.
func (l *listener) readBody(w http.ResponseWriter, r *http.Request, buf []byte, reserved *int64) ([]byte, int, error) {
	limit := l.cfg.MaxBodyBytes
	if r.ContentLength > limit {
		return buf, http.StatusRequestEntityTooLarge, errTooLarge
	}
	var bodyReserved int64 // the part of *reserved for the body's bytes
	grow := func(total int) bool {
		if n := int64(total) - bodyReserved; n > 0 {
			if !l.inflight.reserve(n) {
				return false
			}
			*reserved += n
			bodyReserved += n
		}
		return true
	}
	expected := int64(-1) // the length of the decompressed body, when known
	body := http.MaxBytesReader(w, idleReader{r.Body, http.NewResponseController(w), time.Now().Add(l.bodyTimeout)},
		limit)
	var src io.Reader = body
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		expected = r.ContentLength
	case "gzip", "x-gzip":
		zr, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(body)
		} else {
			err = zr.Reset(body)
		}
		if err != nil {
			return buf, readStatus(err), fmt.Errorf("gzip body: %w", err)
		}
		defer func() {
			_ = zr.Reset(bytes.NewReader(nil)) // let go of the request's body
			gzipReaders.Put(zr)
		}()
		src = zr
	case "zstd":
		// A decoder allocates up to about twice the window its frame declares, before much of the body arrived:
		// that memory is reserved in the budget first, so stalled senders of tiny frames cannot pile it up.
		window := min(maxZstdWindow, max(l.cfg.MaxBodyBytes, 1<<10))
		if !l.inflight.reserve(2 * window) {
			return buf, http.StatusTooManyRequests, errBusy
		}
		*reserved += 2 * window
		zd, _ := zstdDecoders.Get().(*zstd.Decoder)
		if zd == nil {
			var err error
			// One goroutine per decoder: requests decode in parallel already. The window cap bounds its memory.
			zd, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxZstdWindow),
				zstd.WithDecoderLowmem(true))
			if err != nil {
				return buf, http.StatusInternalServerError, fmt.Errorf("zstd decoder: %w", err)
			}
		}
		if err := zd.Reset(body); err != nil {
			return buf, readStatus(err), fmt.Errorf("zstd body: %w", err)
		}
		defer func() {
			_ = zd.Reset(nil)
			zstdDecoders.Put(zd)
		}()
		src = zd
	default:
		return buf, http.StatusUnsupportedMediaType, errBadEncoding
	}
	buf, err := readLimited(src, buf, limit, expected, grow)
	if err != nil {
		switch {
		case errors.Is(err, errTooLarge):
			return buf, http.StatusRequestEntityTooLarge, err
		case errors.Is(err, errBusy):
			return buf, http.StatusTooManyRequests, err
		}
		return buf, readStatus(err), fmt.Errorf("%w: %v", errBodyUnreadable, err)
	}
	return buf, 0, nil
}

// idleReader reads a request body giving each read bodyIdleTimeout to bring something, and the whole body until
// end: a sender that stalls mid-body, or drips a byte now and then, loses its connection (and its place in the
// budget).
type idleReader struct {
	r   io.ReadCloser
	rc  *http.ResponseController
	end time.Time
}

func (ir idleReader) Close() error { return ir.r.Close() }

func (ir idleReader) Read(p []byte) (int, error) {
	deadline := time.Now().Add(bodyIdleTimeout)
	if ir.end.Before(deadline) {
		deadline = ir.end
	}
	_ = ir.rc.SetReadDeadline(deadline)
	return ir.r.Read(p)
}

// bodyIdleTimeout is how long a body may bring no byte.
const bodyIdleTimeout = 10 * time.Second

// DefaultBodyTimeout is how long a whole body may take (a 10 MiB body at 170 KiB/s): bodies being read hold the
// source's memory budget, which senders dripping a byte now and then would otherwise keep from the others.
const DefaultBodyTimeout = time.Minute

// maxZstdWindow bounds the window a zstd body may ask for.
const maxZstdWindow = 8 << 20

// readStatus is the status of a failed read: 413 when the body as sent passed the limit, else 400.
func readStatus(err error) int {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

// readLimited appends all of r to buf, failing with errTooLarge past limit bytes, and with errBusy when reserve
// refuses the bytes read so far.
// The room of buf is reserved before it is read into (at most limit): it grows from 64 KiB by doubling, to
// expected exactly when that is known (and then a body of exactly limit bytes fits).
func readLimited(r io.Reader, buf []byte, limit, expected int64, reserve func(total int) bool) ([]byte, error) {
	if !reserve(int(min(int64(cap(buf)), limit))) {
		return buf, errBusy
	}
	for {
		if len(buf) == cap(buf) && int64(len(buf)) == expected {
			// Exactly the announced length: look for the end before growing (a body of max_body_bytes fits).
			var probe [1]byte
			n, err := r.Read(probe[:])
			if n == 0 && err == io.EOF {
				return buf, nil
			}
			if n == 0 && err != nil {
				return buf, err
			}
			buf = append(buf, probe[:n]...)
			if int64(len(buf)) > limit {
				return buf, errTooLarge
			}
			if !reserve(len(buf)) {
				return buf, errBusy
			}
			continue
		}
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return buf, errTooLarge
			}
			room := min(max(2*cap(buf), 64<<10), int(limit)+1)
			if expected > int64(len(buf)) {
				room = min(room, int(expected))
			}
			if room <= cap(buf) {
				room = cap(buf) + 1
			}
			if !reserve(int(min(int64(room), limit))) {
				return buf, errBusy
			}
			nb := make([]byte, len(buf), room)
			copy(nb, buf)
			buf = nb
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return buf, errTooLarge
		}
		if !reserve(len(buf)) {
			return buf, errBusy
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return buf, errTooLarge
			}
			return buf, err
		}
	}
}

// inflightBodies is how many bodies of max_body_bytes a source reads and parses at once at most: the bound on
// their memory (requests beyond it are answered 429 before their body is read whole).
const inflightBodies = 4

// inflightBudget is a source's budget for the bodies being read (and the zstd windows decoding them).
func inflightBudget(maxBody int64) int64 { return inflightBodies * maxBody }

// parsingBudget is a source's budget for the events of the bodies being parsed (eventCost each: those of a body in
// lines of 100 bytes take four times its size): twice the bodies' budget, and with small bodies up to
// minParsingBudget, but never more than the bodies in flight can make (one event per 2 bytes). A request whose
// events alone need more is answered 413 (split it); one that does not fit beside the others, 429.
func parsingBudget(maxBody int64) int64 {
	most := inflightBudget(maxBody) / 2 * eventCost
	return max(2*inflightBudget(maxBody), min(minParsingBudget, most))
}

const minParsingBudget = 64 << 20

// inflight is a source's budget for the memory of the bodies it is reading and parsing.
type inflight struct {
	used atomic.Int64
	max  int64
}

// reserve takes n bytes of the budget; false when they do not fit beside what is in use. A source with nothing
// in use takes any request, so a body of max_body_bytes always gets in eventually.
func (f *inflight) reserve(n int64) bool {
	for {
		u := f.used.Load()
		if u > 0 && u+n > f.max {
			return false
		}
		if f.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

func (f *inflight) release(n int64) { f.used.Add(-n) }
