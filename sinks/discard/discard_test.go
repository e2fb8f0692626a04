package discard_test

import (
	"context"
	"testing"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/sinks/discard"
)

func TestAcceptsEverything(t *testing.T) {
	s := discard.New()
	st := engine.NewStream(&engine.Input{Name: "app", Type: "file"}, func(int64) {})
	for range 2 {
		b := engine.NewBatch(make([]engine.Event, 3))
		for i := range b.Events {
			b.Events[i].Stream = st
			b.Retry(i, nil) // a result left from a previous attempt must be overwritten
		}
		if err := s.Write(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		for i := range b.Events {
			if got, _ := b.Status(i); got != engine.Accepted {
				t.Errorf("event %d: %v, want accepted", i, got)
			}
		}
	}
	if got := s.Events(); got != 6 {
		t.Errorf("Events() = %d, want 6", got)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
