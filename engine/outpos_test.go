package engine_test

import (
	"bytes"
	"maps"
	"strconv"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
)

// restartRun is one run of a pipeline over src with outputs a and b, sharing positions across runs; b hangs
// when down is set. It returns when cond holds, after stopping the pipeline (a short drain budget abandons what
// b did not take).
func restartRun(t *testing.T, src *enginetest.PullSource, positions engine.OutputPositions, down bool,
	cond func(p *engine.Pipeline, a, b *enginetest.MemorySink) bool,
) (p *engine.Pipeline, a, b *enginetest.MemorySink) {
	t.Helper()
	a, b = enginetest.NewMemorySink(), enginetest.NewMemorySink()
	if down {
		b.Block()
	}
	p = newPipeline(t, engine.Options{
		Outputs:         []engine.Output{output("a", a), output("b", b)},
		DrainTimeout:    20 * time.Millisecond,
		OutputPositions: positions,
	})
	stop := start(t, p, src)
	enginetest.Eventually(t, time.Minute, func() bool { return cond(p, a, b) }, "the run did not get there")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	return p, a, b
}

// byStream groups recorded messages by stream path.
func byStream(recs []enginetest.Record) map[string][][]byte {
	out := make(map[string][][]byte)
	for _, r := range recs {
		out[r.Path] = append(out[r.Path], r.Message)
	}
	return out
}

func checkExactly(t *testing.T, what string, got map[string][][]byte, want map[string][][]byte) {
	t.Helper()
	for name := range maps.Keys(want) {
		if len(got[name]) != len(want[name]) {
			t.Fatalf("%s: stream %s: %d events, want %d", what, name, len(got[name]), len(want[name]))
		}
		for i := range want[name] {
			if !bytes.Equal(got[name][i], want[name][i]) {
				t.Fatalf("%s: stream %s event %d: %q, want %q", what, name, i, got[name][i], want[name][i])
			}
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok && len(got[name]) > 0 {
			t.Fatalf("%s: stream %s: %d events, want none", what, name, len(got[name]))
		}
	}
}

// TestHealthyOutputGetsNothingAgainAfterRestart: output b hangs and is abandoned by the drain; a accepts
// everything. After a restart with both healthy, a receives nothing again and b receives everything, once, in
// order.
func TestHealthyOutputGetsNothingAgainAfterRestart(t *testing.T) {
	content := enginetest.SuiteContent(3, 120)
	positions := enginetest.NewMemoryPositions()
	src := enginetest.NewPullSource(testInput, content)
	src.Follow = true
	restartRun(t, src, positions, true,
		func(_ *engine.Pipeline, a, b *enginetest.MemorySink) bool { return a.Len() == 360 && b.Writes() > 0 })
	for _, s := range []string{"s0", "s1", "s2"} {
		if got := positions.Positions(testInput.Name, s); !maps.Equal(got, map[string]int64{"a": 120}) {
			t.Fatalf("stored positions of %s after the first run: %v, want a at 120", s, got)
		}
	}

	p, a, b := restartRun(t, src.Resume(), positions, false,
		func(_ *engine.Pipeline, _, _ *enginetest.MemorySink) bool {
			return src.Acked("s0") == 120 && src.Acked("s1") == 120 && src.Acked("s2") == 120
		})
	checkExactly(t, "healthy output after the restart", byStream(a.Records()), nil)
	checkExactly(t, "recovered output after the restart", byStream(b.Records()),
		content)
	if st, _ := p.Stats().Output("a"); st.Skipped != 360 || st.Events != 0 {
		t.Fatalf("healthy output: %d skipped, %d accepted; want 360 skipped, none accepted", st.Skipped, st.Events)
	}
	if n := positions.Streams(); n != 0 {
		t.Fatalf("%d streams keep per-output positions once every output caught up", n)
	}
	if errs := positions.Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	checkAcks(t, src)
}

// TestOutputPositionIsContiguous: a retries event 50 of s0 forever (accepting the rest of its batch) while b
// accepts everything. a's position stays before that event although it accepted later ones, so a restart gives a
// the event again (and the later ones: duplicates, never a loss), and gives b nothing.
func TestOutputPositionIsContiguous(t *testing.T) {
	content := enginetest.SuiteContent(1, 100)
	positions := enginetest.NewMemoryPositions()
	src := enginetest.NewPullSource(testInput, content)
	src.Follow = true
	a, b := enginetest.NewMemorySink(), enginetest.NewMemorySink()
	a.RetryWhen(func(ev *engine.Event, _ int) bool { return ev.Pos == 50 })
	p := newPipeline(t, engine.Options{
		Outputs:         []engine.Output{output("a", a), output("b", b)},
		DrainTimeout:    20 * time.Millisecond,
		OutputPositions: positions,
	})
	stop := start(t, p, src)
	enginetest.Eventually(t, time.Minute, func() bool {
		return b.Len() == 100 && a.Len() > 50 && src.Acked("s0") == 49
	}, "a did not take events around event 50")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// An entry at or before the committed position is harmless (a was ahead for a moment): it is never past 49.
	if got := positions.Positions(testInput.Name, "s0"); got["b"] != 100 || got["a"] > 49 {
		t.Fatalf("stored positions: %v, want b at 100 and a at most at 49", got)
	}

	_, a2, b2 := restartRun(t, src.Resume(), positions, false,
		func(_ *engine.Pipeline, _, _ *enginetest.MemorySink) bool { return src.Acked("s0") == 100 })
	checkExactly(t, "stuck output after the restart", byStream(a2.Records()),
		map[string][][]byte{"s0": content["s0"][49:]})
	checkExactly(t, "healthy output after the restart", byStream(b2.Records()), nil)
	checkAcks(t, src)
}

// TestOutputsInStepLeaveNoPositions: with every output healthy nothing stays stored, and a restart publishes
// nothing.
func TestOutputsInStepLeaveNoPositions(t *testing.T) {
	content := enginetest.SuiteContent(4, 150)
	positions := enginetest.NewMemoryPositions()
	src := enginetest.NewPullSource(testInput, content)
	src.Follow = true
	restartRun(t, src, positions, false, func(_ *engine.Pipeline, _, _ *enginetest.MemorySink) bool {
		for i := range 4 {
			if src.Acked("s"+strconv.Itoa(i)) != 150 {
				return false
			}
		}
		return true
	})
	if n := positions.Streams(); n != 0 {
		t.Fatalf("%d streams keep per-output positions with every output in step", n)
	}
	if errs := positions.Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}
}
