package engine_test

import (
	"strings"
	"testing"

	"github.com/flickerlog/flicker/engine"
)

func TestDerivedIDs(t *testing.T) {
	in := &engine.Input{Name: "app", Type: "file"}
	a := engine.NewStream(in, func(int64) {})
	a.IDSeed = engine.SeedID([]byte("app"), []byte("fingerprint"), []byte{0})
	b := engine.NewStream(in, func(int64) {})
	b.IDSeed = engine.SeedID([]byte("app"), []byte("fingerprint"), []byte{1}) // next truncation generation

	seen := make(map[string]bool)
	for off := int64(0); off < 200_000; off += 7 {
		for _, st := range []*engine.Stream{a, b} {
			ev := engine.Event{Stream: st, Offset: off}
			id := string(ev.AppendID(nil))
			if len(id) != engine.IDLen || strings.Trim(id, "0123456789abcdefghjkmnpqrstvwxyz") != "" {
				t.Fatalf("id %q: want %d characters of the id alphabet", id, engine.IDLen)
			}
			if seen[id] {
				t.Fatalf("id %q repeats (offset %d)", id, off)
			}
			seen[id] = true
			if again := string(ev.AppendID(nil)); again != id {
				t.Fatalf("id not deterministic: %q then %q", id, again)
			}
		}
	}
	own := engine.Event{Stream: a, Offset: 5, ID: []byte("okta-uuid-1")}
	if got := string(own.AppendID([]byte("x:"))); got != "x:okta-uuid-1" {
		t.Fatalf("an event's own id: got %q", got)
	}
	if engine.SeedID([]byte("ab"), []byte("c")) == engine.SeedID([]byte("a"), []byte("bc")) {
		t.Fatal("SeedID parts are not length-prefixed")
	}
}
