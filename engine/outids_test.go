package engine_test

import (
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
)

// idRun is one run of a pipeline over a ByID source with outputs a and b sharing positions across runs; b hangs
// when down is set. It returns when cond holds, after stopping the pipeline (a short drain budget abandons what
// b did not take).
func idRun(t *testing.T, src *enginetest.PullSource, positions *enginetest.MemoryPositions, down bool,
	cond func(a, b *enginetest.MemorySink) bool,
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
		OutputIDs:       positions,
	})
	stop := start(t, p, src)
	enginetest.Eventually(t, time.Minute, func() bool { return cond(a, b) }, "the run did not get there")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	return p, a, b
}

func idsOf(name string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, string(enginetest.IDOf(name, i)))
	}
	slices.Sort(out)
	return out
}

// TestByIDHealthyOutputGetsNothingAgainAfterRestart: streams whose positions restart at 1 in every run (like an
// API source's) and whose events carry ids. Both outputs take the first 40 events of each stream; in a second
// run, b hangs and a accepts the next 80. After a restart with 30 more events per stream and both outputs
// healthy, a receives only the 30 it never saw and b the 110 it had not accepted, once and in order. Taking a's
// stored progress for a position would skip the new events too (in the last run's positions, 1 to 110 are the
// events 40 to 149).
func TestByIDHealthyOutputGetsNothingAgainAfterRestart(t *testing.T) {
	first := enginetest.SuiteContent(3, 40)
	names := slices.Sorted(maps.Keys(first))
	positions := enginetest.NewMemoryPositions()
	src := enginetest.NewPullSource(testInput, first)
	src.Follow, src.ByID = true, true
	ackedAll := func(n int64) func(_, _ *enginetest.MemorySink) bool {
		return func(_, _ *enginetest.MemorySink) bool {
			for _, s := range names {
				if src.Acked(s) != n {
					return false
				}
			}
			return true
		}
	}
	idRun(t, src, positions, false, ackedAll(40))
	if n := positions.IDStreams(); n != 0 {
		t.Fatalf("%d streams keep ids with every output in step", n)
	}
	idRun(t, src.ResumeWith(enginetest.SuiteContent(3, 120)), positions, true,
		func(a, _ *enginetest.MemorySink) bool { return a.Len() == 240 })
	for _, s := range names {
		if got, want := positions.IDs(testInput.Name, s), map[string][]string{"a": idsOf(s, 40, 120)}; !maps.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("stored ids of %s after the first run: %d for a, %d for b; want a's 80 (events 40 to 119)", s,
				len(got["a"]), len(got["b"]))
		}
	}
	if n := positions.Streams(); n != 0 {
		t.Fatalf("%d streams keep per-output positions: a ByID stream's positions mean nothing after a restart", n)
	}

	more := enginetest.SuiteContent(3, 150)
	p, a, b := idRun(t, src.ResumeWith(more), positions, false, ackedAll(150))
	want := func(from int) map[string][][]byte {
		w := make(map[string][][]byte)
		for _, s := range names {
			w[s] = more[s][from:]
		}
		return w
	}
	checkExactly(t, "healthy output after the restart", byStream(a.Records()), want(120))
	checkExactly(t, "recovered output after the restart", byStream(b.Records()), want(40))
	if st, _ := p.Stats().Output("a"); st.Skipped != 240 || st.Events != 90 {
		t.Fatalf("healthy output: %d skipped, %d accepted; want 240 skipped, 90 accepted", st.Skipped, st.Events)
	}
	if n := positions.IDStreams(); n != 0 {
		t.Fatalf("%d streams keep ids once every output caught up", n)
	}
	if errs := positions.Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	checkAcks(t, src)
}

// TestByIDWithoutOutputIDsSendsEverythingAgain: with OutputPositions but no OutputIDs, a ByID stream keeps
// nothing per output (its positions must not be taken for stable ones): after the restart both outputs receive
// every uncommitted event.
func TestByIDWithoutOutputIDsSendsEverythingAgain(t *testing.T) {
	content := enginetest.SuiteContent(1, 60)
	positions := enginetest.NewMemoryPositions()
	src := enginetest.NewPullSource(testInput, content)
	src.Follow, src.ByID = true, true
	for run := range 2 {
		a, b := enginetest.NewMemorySink(), enginetest.NewMemorySink()
		if run == 0 {
			b.Block()
		}
		p := newPipeline(t, engine.Options{
			Outputs:         []engine.Output{output("a", a), output("b", b)},
			DrainTimeout:    20 * time.Millisecond,
			OutputPositions: positions,
		})
		stop := start(t, p, src.Resume())
		enginetest.Eventually(t, time.Minute, func() bool {
			return (run == 0 && a.Len() == 60) || (run == 1 && src.Acked("s0") == 60)
		}, "the run did not get there")
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if run == 1 {
			checkExactly(t, "healthy output after the restart", byStream(a.Records()), content)
			checkExactly(t, "recovered output after the restart", byStream(b.Records()), content)
		}
	}
	if positions.Streams() != 0 || positions.IDSaves() != 0 {
		t.Fatalf("%d streams with positions, %d ids saved; want none", positions.Streams(), positions.IDSaves())
	}
}

// TestByIDOutputsInStepLeaveNothing: with every output healthy nothing stays stored, and a restart publishes
// nothing.
func TestByIDOutputsInStepLeaveNothing(t *testing.T) {
	content := enginetest.SuiteContent(4, 150)
	positions := enginetest.NewMemoryPositions()
	src := enginetest.NewPullSource(testInput, content)
	src.Follow, src.ByID = true, true
	idRun(t, src, positions, false, func(_, _ *enginetest.MemorySink) bool {
		for i := range 4 {
			if src.Acked("s"+strconv.Itoa(i)) != 150 {
				return false
			}
		}
		return true
	})
	if n := positions.IDStreams(); n != 0 {
		t.Fatalf("%d streams keep ids with every output in step", n)
	}
	if errs := positions.Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	checkAcks(t, src)
}
