package s3out

import (
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// contentType is the Content-Type of every object: one JSON event per line.
const contentType = "application/x-ndjson"

// zstdWindow bounds the memory of each open object's zstd encoder; log lines find their matches well within it.
const zstdWindow = 2 << 20

// compressor compresses one object's body into the writer given to Reset. Close ends the stream; Reset starts a
// new one, so compressors are reused from object to object.
type compressor interface {
	io.Writer
	Close() error
	Reset(w io.Writer)
}

// codec is a compression setting: how to make a compressor, and how the objects say what they hold.
type codec struct {
	name            string
	ext             string // key suffix
	contentEncoding string // empty: none
	newCompressor   func(w io.Writer) (compressor, error)
}

func codecFor(compression string) (codec, error) {
	switch compression {
	case CompressionGzip:
		return codec{name: compression, ext: ".ndjson.gz", contentEncoding: "gzip",
			newCompressor: func(w io.Writer) (compressor, error) {
				return gzip.NewWriterLevel(w, gzip.DefaultCompression)
			}}, nil
	case CompressionZstd:
		return codec{name: compression, ext: ".ndjson.zst", contentEncoding: "zstd",
			newCompressor: func(w io.Writer) (compressor, error) {
				// One goroutine: the encoder then compresses in the caller's goroutine and starts none of its own.
				return zstd.NewWriter(w, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(zstdWindow))
			}}, nil
	case CompressionNone:
		return codec{name: compression, ext: ".ndjson",
			newCompressor: func(w io.Writer) (compressor, error) { return &plain{w: w}, nil }}, nil
	}
	return codec{}, fmt.Errorf("compression %q: want gzip, zstd or none", compression)
}

// plain is the compressor of compression none.
type plain struct{ w io.Writer }

func (p *plain) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p *plain) Close() error                { return nil }
func (p *plain) Reset(w io.Writer)           { p.w = w }
