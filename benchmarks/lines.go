package benchmarks

import "bytes"

// Lines yields the lines of GenerateLog in its order, for generators outside this package (the network load
// generator's payloads) that should carry the very events the plain log holds.
type Lines struct{ gen *lineGen }

// NewLines starts at the plain log's first line.
func NewLines() *Lines { return &Lines{gen: newLineGen()} }

// Next returns the next line without its newline; it is valid until the following call.
func (l *Lines) Next() []byte { return bytes.TrimSuffix(l.gen.next(), []byte{'\n'}) }
