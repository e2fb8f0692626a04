package file_test

import (
	"bytes"
	"errors"
	"math/rand"

	"github.com/flickerlog/flicker/sources/file"
)

// tagFormat is a minimal container format for the file source's own tests: "<stream> <P|F> <content>". Its
// Content is part of the line, as the CRI decoder's is; the format layer ships such content without copying it.
type tagFormat struct{}

func (tagFormat) Name() string { return file.FormatCRI }

func (tagFormat) Decode(line []byte, p *file.Piece) error {
	stream, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok || len(rest) < 2 || (rest[0] != 'P' && rest[0] != 'F') || rest[1] != ' ' {
		return errors.New("not a tagged line")
	}
	p.Stream, p.Partial, p.Content = string(stream), rest[0] == 'P', rest[2:]
	return nil
}

// taggedRecords writes a message of stream a, split into P records with probability 1/3, with a whole message
// of stream b written between its records: the second stream's message completes while the first one is joined.
func taggedRecords(rng *rand.Rand, a, b string) (text string, msgs []string) {
	var lines []string
	if rng.Intn(3) == 0 && len(a) > 3 {
		cut := 1 + rng.Intn(len(a)-1)
		lines = append(lines, "stdout P "+a[:cut], "stderr F "+b, "stdout F "+a[cut:])
	} else {
		lines = append(lines, "stdout F "+a, "stderr F "+b)
	}
	var t bytes.Buffer
	for i, l := range lines {
		if i > 0 {
			t.WriteByte('\n')
		}
		t.WriteString(l)
	}
	return t.String(), []string{a, b}
}
