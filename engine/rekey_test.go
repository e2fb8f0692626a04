package engine_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
)

// TestRekeyMovesOutputPositions: output b hangs, so a's position is kept under the stream's key; after Rekey it is
// under the new key only (at once, before any further acknowledgement: a crash right after must find it there),
// and what a accepts next is saved under the new key. Found by the chaos harness: a file stream that goes on in a
// copytruncate copy is read after a restart under the copy's key, and its healthy output got again everything it
// had accepted since the file's committed position.
func TestRekeyMovesOutputPositions(t *testing.T) {
	positions := enginetest.NewMemoryPositions()
	a, b := enginetest.NewMemorySink(), enginetest.NewMemorySink()
	b.Block()
	p := newPipeline(t, engine.Options{
		Outputs:         []engine.Output{output("a", a), output("b", b)},
		DrainTimeout:    20 * time.Millisecond,
		OutputPositions: positions,
	})
	st := engine.NewStream(testInput, func(int64) {})
	st.Key = "original"
	rekeyed, more := make(chan struct{}), make(chan struct{})
	errs := make(chan error, 2)
	src := sourceFunc(func(ctx context.Context, pub engine.Publisher) error {
		errs <- pub.Publish(ctx, []engine.Event{{Stream: st, Message: []byte("one"), Pos: 10},
			{Stream: st, Message: []byte("two"), Pos: 20}})
		select {
		case <-rekeyed:
		case <-ctx.Done():
			return nil
		}
		st.Rekey("copy") // from the publishing goroutine, as the contract says
		close(more)
		errs <- pub.Publish(ctx, []engine.Event{{Stream: st, Message: []byte("three"), Pos: 30}})
		<-ctx.Done()
		return nil
	})
	stop := start(t, p, src)
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	enginetest.Eventually(t, time.Minute, func() bool {
		return maps.Equal(positions.Positions(testInput.Name, "original"), map[string]int64{"a": 20})
	}, "a's position under the original key")
	close(rekeyed)
	<-more
	if got := positions.Positions(testInput.Name, "original"); len(got) != 0 {
		t.Errorf("positions left under the old key after Rekey: %v", got)
	}
	if got := positions.Positions(testInput.Name, "copy"); !maps.Equal(got, map[string]int64{"a": 20}) {
		t.Errorf("positions under the new key right after Rekey: %v, want a at 20", got)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	enginetest.Eventually(t, time.Minute, func() bool {
		return maps.Equal(positions.Positions(testInput.Name, "copy"), map[string]int64{"a": 30})
	}, "a's next position under the new key")
	if got := positions.Positions(testInput.Name, "original"); len(got) != 0 {
		t.Errorf("positions saved under the old key after Rekey: %v", got)
	}
}
