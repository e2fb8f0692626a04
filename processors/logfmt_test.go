package processors_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/flickerlog/flicker/processors"
)

func TestLogfmtGolden(t *testing.T) {
	runGolden(t, "parse_logfmt", func(t *testing.T, logPath string) processors.Parser {
		return processors.NewLogfmt()
	})
}

// The key cache is shared by the goroutines of one input: concurrent lines with new and known keys must each
// get their own keys (run under -race).
func TestLogfmtConcurrentKeys(t *testing.T) {
	p := processors.NewLogfmt()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Go(func() {
			for i := range 300 {
				line := fmt.Sprintf("known=%d k%d_%d=v", i, g, i)
				var rec parsedFields
				if err := p.Parse([]byte(line), &rec); err != nil {
					errs <- err
					return
				}
				want := fmt.Sprintf("k%d_%d", g, i)
				if len(rec.fields) != 2 || rec.fields[0].key != "known" || rec.fields[1].key != want || rec.fields[1].val != "v" {
					errs <- fmt.Errorf("line %q: fields %+v", line, rec.fields)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
