package s3out

import (
	"bytes"
	"encoding/hex"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/flickerlog/flicker/engine"
)

// pending is a held batch: its release function runs once every object holding some of its events is settled.
type pending struct {
	b       *engine.Batch
	release func()
	// remaining counts the objects holding its events that are not settled yet, plus one while Write is still
	// placing its events.
	remaining atomic.Int32
}

// done counts one party of p as finished and releases the batch after the last one. p.b must not be touched
// after the release: the engine reuses it.
func (p *pending) done() {
	if p.remaining.Add(-1) == 0 {
		p.release()
	}
}

// span is a run of consecutive events of one batch, held by one object.
type span struct {
	p          *pending
	start, end int // event indexes, end exclusive
}

// object is one S3 object being built: open while it takes events for its prefix, sealed once cut, then
// uploaded and settled. Objects are recycled with their buffers; compressors go back to the sink at the cut.
type object struct {
	prefix   string
	key      string        // set when sealed
	first    []byte        // the id of the first event
	ids      xxhash.Digest // over every event id, in order: part of the key
	opened   time.Time     // when the first event arrived: the age cut counts from here
	lastUsed uint64        // the sink's event count when it last took an event: the least recent is cut first

	// NDJSON goes to lines until lazyCompressBytes, then through zw into body. seal compresses what is left
	// and returns zw, so a sealed object holds its compressed body only.
	lines  []byte
	zw     *pooledCompressor
	body   bytes.Buffer // compressed NDJSON
	zwErr  error        // a compressor failure: the object cannot be uploaded, its events are retried
	raw    int64        // NDJSON bytes written, before compression
	held   int64        // queue bytes (Event.Size) of its events
	events int
	spans  []span
}

// add records that event i of p is in o. Spans of one batch are adjacent in o.spans (Write places one batch at a
// time), so a batch is counted once per object: when its first span here is added.
func (o *object) add(p *pending, i int) {
	if n := len(o.spans); n > 0 && o.spans[n-1].p == p {
		if last := &o.spans[n-1]; last.end == i {
			last.end++
			return
		}
	} else {
		p.remaining.Add(1)
	}
	o.spans = append(o.spans, span{p: p, start: i, end: i + 1})
}

// settle marks every event of o accepted, or retried with err, and counts o as done for each of its batches.
func (o *object) settle(err error) {
	for _, s := range o.spans {
		for i := s.start; i < s.end; i++ {
			if err == nil {
				s.p.b.Accept(i)
			} else {
				s.p.b.Retry(i, err)
			}
		}
	}
	// Mark everything before releasing anything: a released batch belongs to the engine again.
	for k, s := range o.spans {
		if k == 0 || o.spans[k-1].p != s.p {
			s.p.done()
		}
	}
}

// makeKey sets o.key: prefix, first event id, a hash of every event id, and the codec's extension. A replay of
// the same events with the same cuts yields the same key and overwrites the object; objects that hold different
// events never share a key, so an overwrite can never lose an event that only the older object held.
func (o *object) makeKey(ext string) {
	var sum [8]byte
	h := o.ids.Sum64()
	for i := range sum {
		sum[7-i] = byte(h >> (8 * i))
	}
	k := make([]byte, 0, len(o.prefix)+len(o.first)+1+2*len(sum)+len(ext))
	k = append(k, o.prefix...)
	k = appendEscapedID(k, o.first)
	k = append(k, '-')
	k = hex.AppendEncode(k, sum[:])
	k = append(k, ext...)
	o.key = string(k)
}

// appendEscapedID appends id with every byte outside [0-9A-Za-z._-] percent-encoded: a source's own ids (an API
// item's) may hold '/' or worse, and the encoding keeps distinct ids distinct.
func appendEscapedID(dst, id []byte) []byte {
	const hexDigits = "0123456789ABCDEF"
	for _, c := range id {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '.', c == '_', c == '-':
			dst = append(dst, c)
		default:
			dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return dst
}
