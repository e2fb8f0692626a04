package http

import (
	"bytes"
	stdgzip "compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Gzipped is b compressed with gzip; Zstded with zstd. For the tests of this package, external ones included.
func Gzipped(b []byte) []byte {
	var out bytes.Buffer
	zw := stdgzip.NewWriter(&out)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return out.Bytes()
}

func Zstded(b []byte) []byte {
	enc, _ := zstd.NewWriter(nil)
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}

// FuzzReadBody: any body under any of the encodings a sender may name gives either the body (decompressed) within
// max_body_bytes or a status, never a panic or more memory than the cap; a gzip body is what a fresh reader makes
// of it (the pooled readers carry nothing from one body to the next), refused exactly when that is larger than the
// cap or not gzip, and where Go's compress/gzip decompresses it too, the same bytes; the budget is given back
// whole.
func FuzzReadBody(f *testing.F) {
	const limit = 4096
	gz, zs := Gzipped, Zstded
	lines := []byte("{\"message\":\"a\"}\n{\"message\":\"b\"}\n")
	for _, seed := range []struct {
		enc  uint8
		body []byte
	}{
		{0, lines}, {1, gz(lines)}, {1, gz(lines)[:20]}, {1, gz(make([]byte, 1<<20))}, // a bomb
		{1, append(gz(lines), gz(lines)...)}, {1, append(gz(lines), 0, 0)}, {2, zs(lines)},
		{2, zs(make([]byte, 1<<20))}, {3, lines}, {0, make([]byte, limit+1)},
	} {
		f.Add(seed.enc, seed.body)
	}
	encodings := []string{"", "gzip", "zstd", "deflate"}
	f.Fuzz(func(t *testing.T, enc uint8, body []byte) {
		l := &listener{cfg: Config{MaxBodyBytes: limit}}
		l.inflight.max = inflightBudget(limit)
		encoding := encodings[int(enc)%len(encodings)]
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		if encoding != "" {
			r.Header.Set("Content-Encoding", encoding)
		}
		var reserved int64
		buf, status, err := l.readBody(httptest.NewRecorder(), r, nil, &reserved)
		l.inflight.release(reserved)
		if used := l.inflight.used.Load(); used != 0 {
			t.Fatalf("%d bytes of the budget not given back", used)
		}
		if (status == 0) != (err == nil) {
			t.Fatalf("status %d with error %v", status, err)
		}
		switch status {
		case 0, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		case http.StatusUnsupportedMediaType:
			if encoding != "deflate" {
				t.Fatalf("415 for Content-Encoding %q", encoding)
			}
		default:
			t.Fatalf("status %d (%v)", status, err)
		}
		if status == 0 && len(buf) > limit {
			t.Fatalf("accepted %d bytes, above max_body_bytes %d", len(buf), limit)
		}
		switch encoding {
		case "":
			if want := len(body) <= limit; want != (status == 0) || status == 0 && !bytes.Equal(buf, body) {
				t.Fatalf("identity body of %d bytes: status %d", len(body), status)
			}
		case "gzip":
			// The reference is a fresh reader of the same library (readBody reuses pooled ones: what one body
			// leaves must not change the next), and Go's compress/gzip for what was decompressed.
			want, ok := gunzipFresh(body, limit)
			if ok != (status == 0) || ok && !bytes.Equal(buf, want) {
				t.Fatalf("a fresh reader gives ok=%v %q, readBody status %d (%v) %q", ok, want, status, err, buf)
			}
			// compress/gzip is laxer on reserved header bits and stricter on bytes after the last member (gzip(1)
			// ignores them as trailing garbage): where both decompress, they must agree.
			if std, _ := gunzip(body, limit); status == 0 && !bytes.Equal(buf, std) {
				t.Fatalf("decompressed %q, compress/gzip %q", buf, std)
			}
		}
	})
}

// gunzipFresh decompresses body with a new reader of the library readBody uses; false when it is not gzip or the
// result is larger than limit.
func gunzipFresh(body []byte, limit int) ([]byte, bool) {
	if len(body) > limit {
		return nil, false
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, false
	}
	out, err := io.ReadAll(io.LimitReader(zr, int64(limit)+1))
	return out, err == nil && len(out) <= limit
}

// gunzip is the reference: body decompressed by compress/gzip (what it made before an error too), and whether
// that is the whole body, valid gzip, within limit.
func gunzip(body []byte, limit int) ([]byte, bool) {
	zr, err := stdgzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, false
	}
	out, err := io.ReadAll(io.LimitReader(zr, int64(limit)+1))
	return out, err == nil && len(out) <= limit && len(body) <= limit
}
