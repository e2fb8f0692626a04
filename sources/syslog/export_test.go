package syslog

import "time"

// AppendMembers appends the JSON members an event of m carries.
func AppendMembers(dst []byte, m *Message) []byte {
	var r renderer
	return r.appendMessage(dst, m)
}

// Frames cuts data into frames as a TCP connection does, in reads of chunk bytes, with max_message_bytes max.
// It returns the frames, which of them were cut, and the framing error that ends the connection.
func Frames(data []byte, chunk, max int) (frames [][]byte, cut []bool, err error) {
	f := framer{max: max}
	var buf []byte
	for len(data) > 0 || buf != nil {
		n := min(chunk, len(data))
		buf = append(buf, data[:n]...)
		data = data[n:]
		eof := len(data) == 0
		for {
			k, frame, c, ferr := f.next(buf, eof)
			if ferr != nil {
				return frames, cut, ferr
			}
			if k == 0 {
				break
			}
			if frame != nil {
				frames = append(frames, append([]byte(nil), frame...))
				cut = append(cut, c)
			}
			buf = buf[k:]
		}
		if eof {
			break
		}
	}
	return frames, cut, nil
}

// SetTimeouts shortens the TLS handshake bound and the grace after a stop, for tests.
func (s *Source) SetTimeouts(handshake, grace time.Duration) {
	s.handshakeTimeout, s.shutdownGrace = handshake, grace
}

// PublishBatch is the most events one Publish call carries.
const PublishBatch = publishBatch
