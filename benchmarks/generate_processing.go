package benchmarks

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

// GenerateNginx writes about size bytes of nginx "combined" access log lines to path (IPv4 and IPv6 clients,
// "-" users and referrers, 120 to 250 bytes a line), deterministic for a given size. It returns the number of
// lines written.
func GenerateNginx(path string, size int64) (int64, error) {
	g := newProcessingGen()
	return generateLines(path, size, g.nginx)
}

// GenerateJSONLines writes about size bytes of JSON application log lines to path, one object a line with a
// time member, a nested object and an escaped quote now and then, deterministic for a given size.
func GenerateJSONLines(path string, size int64) (int64, error) {
	g := newProcessingGen()
	return generateLines(path, size, g.json)
}

// generateLines writes the lines of next to path until they reach size bytes.
func generateLines(path string, size int64, next func() []byte) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("generate %s: %w", path, err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var written, lines int64
	for written < size {
		line := next()
		if _, err := w.Write(line); err != nil {
			f.Close()
			return 0, fmt.Errorf("generate %s: %w", path, err)
		}
		written += int64(len(line))
		lines++
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, fmt.Errorf("generate %s: %w", path, err)
	}
	return lines, f.Close()
}

// processingGen produces the lines of GenerateNginx and GenerateJSONLines.
type processingGen struct {
	rng  *rand.Rand
	line []byte
	t    time.Time
	n    int64
}

func newProcessingGen() *processingGen {
	return &processingGen{rng: rand.New(rand.NewPCG(3, 4)), line: make([]byte, 0, 512), t: genStart}
}

var (
	genAgents = []string{
		"Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
		"curl/8.4.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
		"kube-probe/1.29",
	}
	genReferrers = []string{"-", "https://shop.example.com/", "https://shop.example.com/cart?step=2"}
	genStatuses  = []int64{200, 200, 200, 200, 201, 204, 301, 304, 404, 500}
	genLevels    = []string{"info", "info", "info", "debug", "warn", "error"}
)

// tick advances the generator's clock by 0 to 2 ms, so that lines span a realistic time range in order.
func (g *processingGen) tick() time.Time {
	g.t = g.t.Add(time.Duration(g.rng.IntN(2000)) * time.Microsecond)
	return g.t
}

// nginx returns the next access log line with its newline, valid until the following call.
func (g *processingGen) nginx() []byte {
	rng, line := g.rng, g.line[:0]
	if rng.IntN(8) == 0 {
		line = append(line, "2001:db8::"...)
		line = strconv.AppendInt(line, int64(rng.IntN(0xffff)), 16)
	} else {
		line = append(line, "203.0.113."...)
		line = strconv.AppendInt(line, int64(rng.IntN(255)), 10)
	}
	line = append(line, " - "...)
	if rng.IntN(4) == 0 {
		line = append(line, "alice"...)
	} else {
		line = append(line, '-')
	}
	line = append(line, " ["...)
	line = g.tick().AppendFormat(line, "02/Jan/2006:15:04:05 -0700")
	line = append(line, "] \""...)
	line = append(line, genMethods[rng.IntN(len(genMethods))]...)
	line = append(line, ' ')
	line = append(line, genPaths[rng.IntN(len(genPaths))]...)
	line = append(line, "?seq="...)
	line = strconv.AppendInt(line, g.n, 10)
	line = append(line, " HTTP/1.1\" "...)
	line = strconv.AppendInt(line, genStatuses[rng.IntN(len(genStatuses))], 10)
	line = append(line, ' ')
	line = strconv.AppendInt(line, int64(rng.IntN(100000)), 10)
	line = append(line, " \""...)
	line = append(line, genReferrers[rng.IntN(len(genReferrers))]...)
	line = append(line, "\" \""...)
	line = append(line, genAgents[rng.IntN(len(genAgents))]...)
	line = append(line, "\"\n"...)
	g.line = line
	g.n++
	return line
}

// json returns the next JSON log line with its newline, valid until the following call.
func (g *processingGen) json() []byte {
	rng, line := g.rng, g.line[:0]
	line = append(line, `{"time":"`...)
	line = g.tick().AppendFormat(line, time.RFC3339Nano)
	line = append(line, `","level":"`...)
	line = append(line, genLevels[rng.IntN(len(genLevels))]...)
	line = append(line, `","msg":"request done`...)
	if rng.IntN(10) == 0 {
		line = append(line, ` for \"guest\"`...)
	}
	line = append(line, `","http":{"method":"`...)
	line = append(line, genMethods[rng.IntN(len(genMethods))]...)
	line = append(line, `","path":"`...)
	line = append(line, genPaths[rng.IntN(len(genPaths))]...)
	line = append(line, `","status":`...)
	line = strconv.AppendInt(line, genStatuses[rng.IntN(len(genStatuses))], 10)
	line = append(line, `},"duration_ms":`...)
	line = strconv.AppendFloat(line, float64(rng.IntN(100000))/100, 'f', -1, 64)
	line = append(line, `,"seq":`...)
	line = strconv.AppendInt(line, g.n, 10)
	line = append(line, `,"trace_id":"`...)
	line = strconv.AppendUint(line, rng.Uint64(), 16)
	line = append(line, "\"}\n"...)
	g.line = line
	g.n++
	return line
}
