package benchmarks

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
)

// GenerateLog writes a log of about size bytes to path: lines of 120 to 200 bytes that look like access logs,
// deterministic for a given size. It returns the number of lines written.
func GenerateLog(path string, size int64) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("generate %s: %w", path, err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	lines := newLineGen()
	var written int64
	for written < size {
		line := lines.next()
		if _, err := w.Write(line); err != nil {
			f.Close()
			return 0, fmt.Errorf("generate %s: %w", path, err)
		}
		written += int64(len(line))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, fmt.Errorf("generate %s: %w", path, err)
	}
	return lines.n, f.Close()
}

// lineGen produces the lines of GenerateLog, in the same order for every generator, so that the container
// formats wrap the very lines the plain log holds.
type lineGen struct {
	rng  *rand.Rand
	line []byte
	n    int64 // lines produced
}

func newLineGen() *lineGen {
	return &lineGen{rng: rand.New(rand.NewPCG(1, 2)), line: make([]byte, 0, 256)}
}

var (
	genMethods = []string{"GET", "POST", "PUT", "DELETE"}
	genPaths   = []string{"/index.html", "/api/users", "/api/orders", "/static/app.js", "/healthz", "/api/search"}
)

// next returns the next line with its newline; it is valid until the following call.
func (g *lineGen) next() []byte {
	rng, line := g.rng, g.line[:0]
	line = append(line, "2026-11-21T10:00:00."...)
	line = strconv.AppendInt(line, 100000+int64(rng.IntN(900000)), 10)
	line = append(line, "Z host=web-"...)
	line = strconv.AppendInt(line, int64(rng.IntN(32)), 10)
	line = append(line, ' ')
	line = append(line, genMethods[rng.IntN(len(genMethods))]...)
	line = append(line, ' ')
	line = append(line, genPaths[rng.IntN(len(genPaths))]...)
	line = append(line, " status=200 bytes="...)
	line = strconv.AppendInt(line, int64(rng.IntN(100000)), 10)
	line = append(line, " seq="...)
	line = strconv.AppendInt(line, g.n, 10)
	line = append(line, " ua=\"Mozilla/5.0 (X11; Linux x86_64)\" pad="...)
	target := 119 + rng.IntN(81) // 120-200 bytes with the newline
	for len(line) < target {
		line = append(line, 'a'+byte(len(line)%26))
	}
	line = append(line, '\n')
	g.line = line
	g.n++
	return line
}
