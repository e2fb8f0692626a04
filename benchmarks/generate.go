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
	rng := rand.New(rand.NewPCG(1, 2))
	methods := []string{"GET", "POST", "PUT", "DELETE"}
	paths := []string{"/index.html", "/api/users", "/api/orders", "/static/app.js", "/healthz", "/api/search"}
	var written, lines int64
	line := make([]byte, 0, 256)
	for written < size {
		line = line[:0]
		line = append(line, "2026-11-21T10:00:00."...)
		line = strconv.AppendInt(line, 100000+int64(rng.IntN(900000)), 10)
		line = append(line, "Z host=web-"...)
		line = strconv.AppendInt(line, int64(rng.IntN(32)), 10)
		line = append(line, ' ')
		line = append(line, methods[rng.IntN(len(methods))]...)
		line = append(line, ' ')
		line = append(line, paths[rng.IntN(len(paths))]...)
		line = append(line, " status=200 bytes="...)
		line = strconv.AppendInt(line, int64(rng.IntN(100000)), 10)
		line = append(line, " seq="...)
		line = strconv.AppendInt(line, lines, 10)
		line = append(line, " ua=\"Mozilla/5.0 (X11; Linux x86_64)\" pad="...)
		target := 119 + rng.IntN(81) // 120-200 bytes with the newline
		for len(line) < target {
			line = append(line, 'a'+byte(len(line)%26))
		}
		line = append(line, '\n')
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
