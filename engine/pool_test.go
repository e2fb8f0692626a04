package engine_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
)

// poolMessages merges what the members accepted, sorted back into stream order (a pool completes batches in any
// order).
func poolMessages(members []*enginetest.MemorySink) [][]byte {
	var recs []enginetest.Record
	for _, m := range members {
		recs = append(recs, m.Records()...)
	}
	slices.SortStableFunc(recs, func(a, b enginetest.Record) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return int(a.Pos - b.Pos)
	})
	msgs := make([][]byte, len(recs))
	for i, r := range recs {
		msgs[i] = r.Message
	}
	return msgs
}

func newMembers(n int) ([]*enginetest.MemorySink, []engine.Sink) {
	mem := make([]*enginetest.MemorySink, n)
	sinks := make([]engine.Sink, n)
	for i := range mem {
		mem[i] = enginetest.NewMemorySink()
		sinks[i] = mem[i]
	}
	return mem, sinks
}

func TestSinkPoolOfOneIsTheMember(t *testing.T) {
	m := enginetest.NewMemorySink()
	if got := engine.NewSinkPool([]engine.Sink{m}); got != engine.Sink(m) {
		t.Fatalf("a pool of one is %T, want the member", got)
	}
}

func TestSinkPoolKeepsEveryMemberBusyAndDeliversOnce(t *testing.T) {
	mem, sinks := newMembers(3)
	for _, m := range mem {
		m.Block()
	}
	content := enginetest.SuiteContent(2, 400)
	src := enginetest.NewPullSource(testInput, content)
	p := newPipeline(t, engine.Options{Outputs: []engine.Output{output("pool", engine.NewSinkPool(sinks))}})
	stop := start(t, p, src)

	// Every member gets a batch while none has answered: three batches in flight.
	enginetest.Eventually(t, time.Minute, func() bool {
		return mem[0].Writes() == 1 && mem[1].Writes() == 1 && mem[2].Writes() == 1
	}, "the pool did not start a batch on every member")
	if a0, a1 := src.Acked("s0"), src.Acked("s1"); a0 > 0 || a1 > 0 {
		t.Fatalf("acknowledged %d, %d while every batch is in flight", a0, a1)
	}
	for _, m := range mem {
		m.Unblock()
	}
	enginetest.Eventually(t, time.Minute, func() bool { return src.Acked("s0") == 400 && src.Acked("s1") == 400 },
		"not everything acknowledged")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	checkAcks(t, src)
	enginetest.CheckStreams(t, content, poolMessages(mem), false)
	for i, m := range mem {
		if m.Overlaps() != 0 || m.Closes() != 1 {
			t.Fatalf("member %d: %d overlapping writes, closed %d times", i, m.Overlaps(), m.Closes())
		}
		if m.Len() == 0 {
			t.Fatalf("member %d delivered nothing", i)
		}
	}
}

func TestSinkPoolMemberFailureIsRetriedAndCounted(t *testing.T) {
	mem, sinks := newMembers(2)
	mem[0].FailNext(3, nil)
	mem[1].RetryWhen(func(ev *engine.Event, attempt int) bool { return ev.Offset%7 == 0 && attempt == 1 })
	content := enginetest.SuiteContent(3, 200)
	src := enginetest.NewPullSource(testInput, content)
	p := newPipeline(t, engine.Options{Outputs: []engine.Output{output("pool", engine.NewSinkPool(sinks))}})
	runToEnd(t, p, src)
	checkAcks(t, src)
	enginetest.CheckStreams(t, content, poolMessages(mem), false)
	st, _ := p.Stats().Output("pool")
	if st.WriteErrors != 3 || st.Events != 600 || st.Retried == 0 {
		t.Fatalf("stats %+v: want the members' 3 failed writes counted, 600 events, retries", st)
	}
}

// closeFailing is a member whose Close fails.
type closeFailing struct {
	*enginetest.MemorySink
	err error
}

func (c closeFailing) Close(ctx context.Context) error {
	_ = c.MemorySink.Close(ctx)
	return c.err
}

func TestSinkPoolCloseWaitsForBatchesAndClosesEveryMember(t *testing.T) {
	mem, _ := newMembers(2)
	errA, errB := errors.New("close a"), errors.New("close b")
	pool := engine.NewSinkPool([]engine.Sink{closeFailing{mem[0], errA}, closeFailing{mem[1], errB}})
	mem[0].Block()
	b := engine.NewBatch(enginetest.SuiteEvents(enginetest.SuiteContent(1, 3)))
	if err := pool.Write(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- pool.Close(context.Background()) }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a batch was in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	mem[0].Unblock()
	select {
	case err := <-closed:
		if !errors.Is(err, errA) || !errors.Is(err, errB) {
			t.Fatalf("close: %v, want both members' errors", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Close did not return after the batch completed")
	}
	if mem[0].Len() != 3 || mem[0].Closes() != 1 || mem[1].Closes() != 1 {
		t.Fatalf("delivered %d, closes %d %d", mem[0].Len(), mem[0].Closes(), mem[1].Closes())
	}
}

func TestSinkPoolWriteWaitsForAnIdleMemberUntilCtxEnds(t *testing.T) {
	mem, sinks := newMembers(2)
	for _, m := range mem {
		m.Block()
	}
	pool := engine.NewSinkPool(sinks)
	ev := enginetest.SuiteEvents(enginetest.SuiteContent(1, 1))
	for range 2 {
		if err := pool.Write(t.Context(), engine.NewBatch(ev)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	released := false
	third := engine.NewBatchWithRelease(ev, func() { released = true })
	if err := pool.Write(ctx, third); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("write with every member busy: %v, want the context's deadline", err)
	}
	for _, m := range mem {
		m.Unblock()
	}
	if err := pool.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if released || mem[0].Len()+mem[1].Len() != 2 {
		t.Fatalf("the refused batch was taken (released %v); delivered %d", released, mem[0].Len()+mem[1].Len())
	}
}
