package file_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/sources/file"
)

// quotingFormat refuses every line with an error quoting it, as the CRI decoder's errors do.
type quotingFormat struct{}

func (quotingFormat) Name() string { return "cri" }

func (quotingFormat) Decode(line []byte, _ *file.Piece) error {
	return errors.New("bad line " + string(line))
}

// A file of distinct malformed lines whose errors quote them does not grow the cache of error members without
// bound: each line is still shipped with its own error.message.
func TestMalformedErrorMembersBounded(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	var b strings.Builder
	const lines = 1000
	for i := range lines {
		fmt.Fprintf(&b, "garbage %d\n", i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(dir, func(c *file.Config) { c.Format = file.FormatCRI })
	src, err := file.New(cfg, newRegistry(), file.Options{Once: true, Formats: []file.Format{quotingFormat{}}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	pub := &recPublisher{}
	if err := src.Run(context.Background(), pub); err != nil {
		t.Fatal(err)
	}
	evs := pub.all()
	if len(evs) != lines || !strings.Contains(string(evs[lines-1].Extra), `"error":{"message":"bad line garbage 999"}`) {
		t.Fatalf("%d events, the last with %q", len(evs), string(evs[len(evs)-1].Extra))
	}
	if n := src.ErrMembersCached(); n > 64 {
		t.Errorf("%d error members cached for one file", n)
	}
}
