package s3out

import (
	"bytes"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// contentType is the Content-Type of every object: one JSON event per line.
const contentType = "application/x-ndjson"

const (
	// zstdWindow bounds the memory of each zstd encoder; log lines find their matches well within it.
	zstdWindow = 2 << 20
	// lazyCompressBytes is how much NDJSON an object keeps uncompressed before it takes a compressor: objects
	// that stay small (many prefixes, few events each) never hold one while open.
	lazyCompressBytes = 64 << 10
	// maxSpareCompressors bounds the compressors kept for later objects once the object using one is sealed.
	maxSpareCompressors = 4
)

// compressor compresses one object's body into the writer given to Reset. Close ends the stream; Reset starts a
// new one, so compressors are reused from object to object (an open object holds one only while it is open).
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

// compress hands NDJSON lines to o: kept as they are while o is small, through its compressor after. Called
// with s.mu held.
func (s *Sink) compress(o *object, lines []byte) {
	if o.zwErr != nil {
		return // the object cannot be uploaded: its events are retried
	}
	if o.zw == nil {
		if len(o.lines)+len(lines) < lazyCompressBytes {
			if o.lines == nil {
				o.lines = s.compressors.takeLines()
			}
			o.lines = append(o.lines, lines...)
			return
		}
		if !s.startCompressor(o) {
			return
		}
	}
	if _, err := o.zw.Write(lines); err != nil {
		o.zwErr = fmt.Errorf("compress: %w", err)
	}
}

// startCompressor gives o a compressor and compresses the lines o kept so far, giving their buffer back.
// Called with s.mu held.
func (s *Sink) startCompressor(o *object) bool {
	lines := o.lines
	o.lines = nil
	defer s.compressors.giveLines(lines)
	zw, err := s.compressors.get(&o.body)
	if err != nil {
		// The options are constants: this is a bug, but the object's events are retried, not lost.
		o.zwErr = err
		return false
	}
	o.zw = zw
	if _, err := zw.Write(lines); err != nil {
		o.zwErr = fmt.Errorf("compress: %w", err)
	}
	return o.zwErr == nil
}

// finishBody compresses what o kept uncompressed, ends its stream and gives its compressor back: a sealed
// object holds its compressed body only. Called with s.mu held.
func (s *Sink) finishBody(o *object) {
	if o.zw == nil && o.zwErr == nil {
		s.startCompressor(o)
	}
	if o.zw == nil {
		return
	}
	if err := o.zw.Close(); err != nil && o.zwErr == nil {
		o.zwErr = fmt.Errorf("compress: %w", err)
	}
	if o.zwErr == nil { // a compressor that failed is not reused
		s.compressors.put(o.zw)
	}
	o.zw = nil
}

// pooledCompressor is a compressor with the buffer it writes into, which can be swapped: a spare compressor
// then pins no object's body.
type pooledCompressor struct {
	compressor
	out bodyWriter
}

// bodyWriter forwards to the body of the object using the compressor.
type bodyWriter struct{ body *bytes.Buffer }

func (w *bodyWriter) Write(b []byte) (int, error) { return w.body.Write(b) }

// compressors makes compressors and keeps a few spares, with the buffers of objects' uncompressed lines. Not
// safe for concurrent use (the sink's mutex guards it).
type compressors struct {
	codec      codec
	spare      []*pooledCompressor
	spareLines [][]byte
}

// get returns a compressor starting a new stream into body.
func (c *compressors) get(body *bytes.Buffer) (*pooledCompressor, error) {
	if n := len(c.spare); n > 0 {
		pc := c.spare[n-1]
		c.spare[n-1] = nil
		c.spare = c.spare[:n-1]
		pc.out.body = body
		pc.Reset(&pc.out)
		return pc, nil
	}
	pc := &pooledCompressor{out: bodyWriter{body: body}}
	zw, err := c.codec.newCompressor(&pc.out)
	if err != nil {
		return nil, fmt.Errorf("new %s compressor: %w", c.codec.name, err)
	}
	pc.compressor = zw
	return pc, nil
}

// put keeps pc, closed, for a later object, unless enough are kept.
func (c *compressors) put(pc *pooledCompressor) {
	pc.out.body = nil
	if len(c.spare) < maxSpareCompressors {
		c.spare = append(c.spare, pc)
	}
}

// takeLines returns an empty buffer for an object's uncompressed lines.
func (c *compressors) takeLines() []byte {
	if n := len(c.spareLines); n > 0 {
		b := c.spareLines[n-1]
		c.spareLines[n-1] = nil
		c.spareLines = c.spareLines[:n-1]
		return b
	}
	return make([]byte, 0, 4<<10)
}

// giveLines keeps b for a later object, unless enough are kept. Buffers stay below 2*lazyCompressBytes.
func (c *compressors) giveLines(b []byte) {
	if b != nil && len(c.spareLines) < maxSpareCompressors {
		c.spareLines = append(c.spareLines, b[:0])
	}
}

// plain is the compressor of compression none.
type plain struct{ w io.Writer }

func (p *plain) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p *plain) Close() error                { return nil }
func (p *plain) Reset(w io.Writer)           { p.w = w }
