package enginetest

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flickerlog/flicker/engine"
)

// CallbackSource is a push source, like an HTTP receiver: each request is a list of messages published on a
// stream of its own made with engine.NewCallbackStream, from a goroutine per request. It counts how often each
// request's completion fired. Run returns once every request is published, unless Follow is set.
type CallbackSource struct {
	in       *engine.Input
	requests [][][]byte
	done     []atomic.Int32
	doneCh   []chan struct{}
	// OnDone, when set, is called inside request i's completion (under the stream's lock: keep it quick).
	OnDone func(i int)
	// Follow keeps Run waiting for ctx after publishing.
	Follow bool
	// Filter, when set, marks the events whose message it reports true engine.Event.Filtered (see PullSource).
	Filter func(msg []byte) bool
}

// NewCallbackSource returns a source publishing requests.
func NewCallbackSource(in *engine.Input, requests [][][]byte) *CallbackSource {
	s := &CallbackSource{in: in, requests: requests, done: make([]atomic.Int32, len(requests)),
		doneCh: make([]chan struct{}, len(requests))}
	for i := range s.doneCh {
		s.doneCh[i] = make(chan struct{})
	}
	return s
}

// Run implements engine.Source.
func (s *CallbackSource) Run(ctx context.Context, pub engine.Publisher) error {
	var wg sync.WaitGroup
	errs := make([]error, len(s.requests))
	for i, msgs := range s.requests {
		wg.Go(func() {
			st := engine.NewCallbackStream(s.in, len(msgs), func() {
				if s.done[i].Add(1) == 1 {
					if s.OnDone != nil {
						s.OnDone(i)
					}
					close(s.doneCh[i])
				}
			})
			st.IDSeed = engine.SeedID([]byte(s.in.Name), []byte{byte(i >> 8), byte(i)})
			evs := make([]engine.Event, len(msgs))
			for k, m := range msgs {
				evs[k] = engine.Event{Time: time.Unix(0, 0).UTC(), Message: m, Stream: st, Offset: -1,
					Pos: int64(k + 1), Filtered: s.Filter != nil && s.Filter(m)}
			}
			errs[i] = pub.Publish(ctx, evs)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if s.Follow {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

// DoneCount returns how many times request i's completion fired: 0 or 1 if the engine keeps its promise.
func (s *CallbackSource) DoneCount(i int) int { return int(s.done[i].Load()) }

// Done returns a channel closed when request i completed.
func (s *CallbackSource) Done(i int) <-chan struct{} { return s.doneCh[i] }
