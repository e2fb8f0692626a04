package file

import "github.com/flickerlog/flicker/engine"

// Ack delivers an acknowledgement of st up to pos as the engine would.
func (s *Source) Ack(st *engine.Stream, pos int64) {
	s.mu.Lock()
	ref, ok := s.streams[st]
	s.mu.Unlock()
	if ok {
		s.onAck(ref.t, ref.gen, pos)
	}
}

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
