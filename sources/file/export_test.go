package file

import (
	"sync"

	"github.com/flickerlog/flicker/engine"
)

// ackFuncs holds the ack function of every stream created in the tests, as the engine would hold it.
var ackFuncs sync.Map // *engine.Stream -> func(int64)

func init() {
	streamCreated = func(st *engine.Stream, ack func(int64)) { ackFuncs.Store(st, ack) }
}

// Ack delivers an acknowledgement of st up to pos as the engine would: through the stream's ack function, also
// for streams of older generations and of forgotten files.
func (s *Source) Ack(st *engine.Stream, pos int64) {
	if ack, ok := ackFuncs.Load(st); ok {
		ack.(func(int64))(pos)
	}
}

// PoisonFreedChunks makes the source overwrite arena chunks as they are freed, so that a chunk reused while an
// event still refers to it shows even if the new bytes equal the old ones. Call it before Run.
func (s *Source) PoisonFreedChunks() { s.pool.poison = true }

// ChunkUses is the number of chunk references held for published events not yet acknowledged.
func (s *Source) ChunkUses() int64 { return s.pool.uses.Load() }

// SplitAll splits data the way the reader does and returns the line contents, what each consumed and the rest.
func SplitAll(enc string, maxLine int, data []byte) (lines [][]byte, consumed []int, rest []byte) {
	sp := newSplitter(parseEncoding(enc), maxLine)
	pos := 0
	for {
		ll, c := sp.next(data[pos:])
		if c == 0 {
			return lines, consumed, data[pos:]
		}
		lines = append(lines, data[pos:pos+ll])
		consumed = append(consumed, c)
		pos += c
	}
}

// Decode decodes raw with the named encoding and returns UTF-8 and the number of invalid units.
func Decode(enc string, raw []byte) ([]byte, int) { return parseEncoding(enc).appendDecoded(nil, raw) }

// ErrMembersCached is the number of malformed lines' error members cached over the source's files.
func (s *Source) ErrMembersCached() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.files {
		if t.format != nil {
			n += len(t.format.errExtra)
		}
	}
	return n
}
