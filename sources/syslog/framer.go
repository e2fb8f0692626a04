package syslog

import (
	"bytes"
	"errors"
	"fmt"
)

// framing is how a TCP connection separates its messages (RFC 6587).
type framing uint8

const (
	framingUnknown framing = iota // nothing read yet
	framingOctet                  // octet counting: "<len> <msg>"
	framingNewline                // non-transparent: each message ends with '\n'
)

// maxLenDigits bounds the MSG-LEN of octet counting: 10 digits are more than any max_message_bytes.
const maxLenDigits = 10

// ErrFraming is a connection whose octet counting is broken: nothing after it can be told apart.
var ErrFraming = errors.New("broken octet counting")

// framer cuts a TCP connection's bytes into frames. The framing is chosen by the connection's first byte: a
// digit starts octet counting (as rsyslog's imtcp decides), anything else newline framing. A connection whose
// first "length" is not one is read as lines instead: a line starting with a date or a number, from a sender
// without PRI ("10 users logged in"). The first frame is taken as octet counted only when it starts with '<'
// (a PRI, as every syslog message sent with octet counting does), or else when a digit (the next length) or the
// end of the connection follows it.
type framer struct {
	mode   framing
	max    int // max_message_bytes
	frames int // frames found so far
	// skip is what remains of a frame longer than max, to be discarded: bytes (octet counting), or up to the next
	// newline (skipLine).
	skip     int
	skipLine bool
	octet    bool // the first frame was taken as octet counted
}

// next finds the next frame at the start of buf. It returns the bytes consumed (0: it needs more input), the
// frame when the consumed bytes end one (nil while discarding the rest of a cut one), and cut when the frame was
// cut at max. At EOF a newline-framed connection's unterminated last message is a frame. An error means the
// octet counting is broken (a length that is not digits and a space, or 0); the connection can only be closed.
func (f *framer) next(buf []byte, eof bool) (n int, frame []byte, cut bool, err error) {
	if len(buf) == 0 {
		return 0, nil, false, nil
	}
	if f.mode == framingUnknown {
		f.mode = framingNewline
		if isDigit(buf[0]) {
			f.mode = framingOctet
		}
	}
	if f.mode == framingOctet {
		n, frame, cut, err := f.nextOctet(buf, eof)
		if err != nil && f.frames == 0 {
			f.mode = framingNewline
			return f.nextLine(buf, eof)
		}
		if frame != nil {
			f.frames++
		}
		return n, frame, cut, err
	}
	return f.nextLine(buf, eof)
}

// errNotOctet is a first frame that is more likely a line than an octet-counted frame.
var errNotOctet = fmt.Errorf("%w: the first frame is a line", ErrFraming)

func (f *framer) nextOctet(buf []byte, eof bool) (int, []byte, bool, error) {
	if f.skip > 0 {
		n := min(f.skip, len(buf))
		f.skip -= n
		return n, nil, false, nil
	}
	size, i := 0, 0
	for i < len(buf) && i < maxLenDigits && isDigit(buf[i]) {
		size = size*10 + int(buf[i]-'0')
		i++
	}
	switch {
	case i == maxLenDigits && i < len(buf) && isDigit(buf[i]):
		return 0, nil, false, fmt.Errorf("%w: a length of more than %d digits", ErrFraming, maxLenDigits)
	case i == len(buf):
		return 0, nil, false, nil // the length goes on in the next read
	case i == 0:
		// One byte only: what else is buffered depends on how the stream was read.
		return 0, nil, false, fmt.Errorf("%w: want a length, got %q", ErrFraming, buf[:1])
	case buf[i] != ' ':
		return 0, nil, false, fmt.Errorf("%w: want a space after the length %q, got %q", ErrFraming, buf[:i], buf[i:i+1])
	case size == 0:
		return 0, nil, false, fmt.Errorf("%w: a length of 0", ErrFraming)
	}
	i++ // the space
	if f.frames == 0 && !f.octet {
		switch end := i + size; {
		case i == len(buf):
			return 0, nil, false, nil
		case buf[i] == '<':
		case size > f.max:
			return 0, nil, false, errNotOctet
		case end < len(buf):
			if !isDigit(buf[end]) {
				return 0, nil, false, errNotOctet
			}
		case end > len(buf) || !eof:
			return 0, nil, false, nil // the frame, or the byte after it, comes in the next read
		}
		f.octet = true
	}
	if size > f.max {
		if len(buf)-i < f.max {
			return 0, nil, false, nil
		}
		f.skip = size - f.max
		return i + f.max, buf[i : i+f.max], true, nil
	}
	if len(buf)-i < size {
		return 0, nil, false, nil
	}
	return i + size, buf[i : i+size], false, nil
}

func (f *framer) nextLine(buf []byte, eof bool) (int, []byte, bool, error) {
	if f.skipLine {
		k := bytes.IndexByte(buf, '\n')
		if k < 0 {
			return len(buf), nil, false, nil
		}
		f.skipLine = false
		return k + 1, nil, false, nil
	}
	if k := bytes.IndexByte(buf[:min(len(buf), f.max+1)], '\n'); k >= 0 {
		return k + 1, buf[:k], false, nil
	}
	switch {
	case len(buf) > f.max:
		f.skipLine = true
		return f.max, buf[:f.max], true, nil
	case eof:
		return len(buf), buf, false, nil
	}
	return 0, nil, false, nil
}

// maxFrameBuffer is the most a connection buffers for one frame: the longest length prefix, its space, and max.
func maxFrameBuffer(max int) int { return maxLenDigits + 1 + max }
