package processors

import (
	"fmt"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
)

// readTimeRecorder is a fake chain that writes the read time it is given into the event's Extra.
type readTimeRecorder struct{}

func (readTimeRecorder) Process(ev *engine.Event) bool {
	return readTimeRecorder{}.processAt(ev, ev.Time)
}

func (readTimeRecorder) processAt(ev *engine.Event, read time.Time) bool {
	ev.Extra = []byte(read.Format(time.RFC3339Nano))
	return true
}

// A container or API source sets ev.Time to the record's own time; the read time (event.ingested) is when the
// Publisher was handed the events: one time.Now() per call, the same for every event of the call, also when
// the call is spread over helpers.
func TestPublisherGivesTheChainOneReadTimePerCall(t *testing.T) {
	recordTime := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	in := &engine.Input{Name: "pods", Type: "kubernetes"}
	st := engine.NewStream(in, func(int64) {})
	for _, n := range []int{3, 8 * minChunk} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var next recorder
			p := withHelpers(t, &next, map[string]processor{"pods": readTimeRecorder{}}, 2)
			evs := make([]engine.Event, n)
			for i := range evs {
				evs[i] = engine.Event{Stream: st, Time: recordTime, Message: []byte("m"), Pos: int64(i + 1)}
			}
			before := time.Now()
			if err := p.Publish(t.Context(), evs); err != nil {
				t.Fatal(err)
			}
			after := time.Now()
			got := next.calls[0]
			read, err := time.Parse(time.RFC3339Nano, string(got[0].Extra))
			if err != nil {
				t.Fatalf("read time %q: %v", got[0].Extra, err)
			}
			if read.Before(before) || read.After(after) {
				t.Errorf("read time %v, want the time of the Publish call, between %v and %v (not the record's %v)",
					read, before, after, recordTime)
			}
			for i := range got {
				if string(got[i].Extra) != string(got[0].Extra) {
					t.Fatalf("event %d read at %s, event 0 at %s: want one read time per call", i, got[i].Extra,
						got[0].Extra)
				}
				if !got[i].Time.Equal(recordTime) {
					t.Errorf("event %d time %v, want the record's %v untouched", i, got[i].Time, recordTime)
				}
			}
		})
	}
}
