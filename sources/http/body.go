package http

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

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
// as sent and the decompressed one are capped at max_body_bytes: above either the status is 413. The body's bytes
// are reserved in the source's inflight budget (its Content-Length at once, then what is read beyond it;
// *reserved says how much, for the caller to release); when the budget is spent the status is 429.
func (l *listener) readBody(w http.ResponseWriter, r *http.Request, buf []byte, reserved *int64) ([]byte, int, error) {
	limit := l.cfg.MaxBodyBytes
	if r.ContentLength > limit {
		return buf, http.StatusRequestEntityTooLarge, errTooLarge
	}
	grow := func(total int) bool {
		if n := int64(total) - *reserved; n > 0 {
			if !l.inflight.reserve(n) {
				return false
			}
			*reserved += n
		}
		return true
	}
	if !grow(int(r.ContentLength) + 1) {
		return buf, http.StatusTooManyRequests, errBusy
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	var src io.Reader = body
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		if r.ContentLength > 0 && int64(cap(buf)) <= r.ContentLength {
			buf = make([]byte, 0, r.ContentLength+1)
		}
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
		defer gzipReaders.Put(zr)
		src = zr
	case "zstd":
		zd, _ := zstdDecoders.Get().(*zstd.Decoder)
		if zd == nil {
			var err error
			// One goroutine per decoder: requests decode in parallel already. The window cap bounds its memory.
			zd, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxZstdWindow))
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
	buf, err := readLimited(src, buf, limit, grow)
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
func readLimited(r io.Reader, buf []byte, limit int64, reserve func(total int) bool) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return buf, errTooLarge
			}
			room := min(max(2*cap(buf), 64<<10), int(limit)+1)
			if room <= cap(buf) {
				room = cap(buf) + 1
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
