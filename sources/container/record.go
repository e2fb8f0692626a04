package container

import "time"

// Stream is the output stream of the container a record came from.
type Stream uint8

const (
	StreamUnknown Stream = iota
	StreamStdout
	StreamStderr
)

func (s Stream) String() string {
	switch s {
	case StreamStdout:
		return "stdout"
	case StreamStderr:
		return "stderr"
	}
	return "unknown"
}

// Record is one line of a container log, decoded. A message longer than the runtime's buffer is written as
// several records: every one but the last is Partial, and the message is their contents joined in order (per
// stream: the two streams' records interleave in one file).
type Record struct {
	Time    time.Time
	Stream  Stream
	Partial bool   // the message continues in this stream's next record
	Content []byte // without the record's final newline; may alias the line or the parser's scratch buffer
}
