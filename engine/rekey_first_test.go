package engine_test

import (
	"context"
	"testing"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
)

// A stream resumed after a restart (output a had accepted up to 20 under the stream's key while b was down) is
// rekeyed before its first event is published (a copytruncate found before the resumed stream read a whole line).
// Rekey promises to move the positions kept under the old key; they must still keep a from receiving 10 and 20
// again, and nothing may stay behind under the old key.
// A stream rekeyed before its first Publish (the file source finds a copytruncate copy on its first read after a
// restart) keeps the per-output positions stored under its old key: loaded under it, moved to the new one. A
// healthy output is not sent again what it had accepted.
func TestRekeyBeforeFirstPublishMovesStoredPositions(t *testing.T) {
	positions := enginetest.NewMemoryPositions()
	positions.Save(testInput.Name, "original", "a", 20) // left by the earlier run
	a, b := enginetest.NewMemorySink(), enginetest.NewMemorySink()
	p := newPipeline(t, engine.Options{
		Outputs:         []engine.Output{output("a", a), output("b", b)},
		OutputPositions: positions,
	})
	st := engine.NewStream(testInput, func(int64) {})
	st.Key = "original"
	runToEnd(t, p, sourceFunc(func(ctx context.Context, pub engine.Publisher) error {
		st.Rekey("copy")
		return pub.Publish(ctx, []engine.Event{
			{Stream: st, Message: []byte("one"), Pos: 10},
			{Stream: st, Message: []byte("two"), Pos: 20},
			{Stream: st, Message: []byte("three"), Pos: 30},
		})
	}))
	if got := a.Messages(); len(got) != 1 || string(got[0]) != "three" {
		t.Errorf("a received %q again after the rekey, want only \"three\" (it had accepted up to 20)", got)
	}
	if got := positions.Positions(testInput.Name, "original"); len(got) != 0 {
		t.Errorf("positions left under the old key after Rekey: %v", got)
	}
}
