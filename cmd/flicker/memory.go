package main

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/rs/zerolog"
)

// memoryHeadroom is what --memory-limit=auto adds to queue.max_bytes: read buffers, encoding buffers and the
// runtime. Every event buffer from read to acknowledgement is inside the queue bound, so the heap's live size
// stays near it; without a limit the garbage collector lets the heap grow to twice the live size.
const memoryHeadroom = 8 << 20

// applyMemoryLimit sets the Go runtime's soft memory limit from --memory-limit; budget is what auto adds the
// headroom to: the queue's bytes and what the inputs hold beside them.
func (c *RunCmd) applyMemoryLimit(budget int64, log zerolog.Logger) error {
	switch c.MemoryLimit {
	case "off":
		return nil
	case "auto", "":
		if os.Getenv("GOMEMLIMIT") != "" {
			return nil // the runtime already applied it
		}
		debug.SetMemoryLimit(budget + memoryHeadroom)
		return nil
	}
	n, err := parseSize(c.MemoryLimit)
	if err != nil || n <= 0 {
		return usageError("--memory-limit %q: want auto, off or a size such as 64MiB", c.MemoryLimit)
	}
	debug.SetMemoryLimit(n)
	log.Debug().Int64("bytes", n).Msg("memory limit")
	return nil
}

// parseSize reads a byte size with an optional KiB, MiB or GiB suffix.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n * mult, err
}
