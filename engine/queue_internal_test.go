package engine

import (
	"context"
	"testing"
	"time"
)

// A whole-request waiter keeps the room it waits for from a blocking acquire: otherwise a source publishing one
// event at a time takes every freed slot and the request never fits.
func TestQueueWaiterGoesBeforeBlockingAcquire(t *testing.T) {
	q := &queue{maxEvents: 10, maxBytes: 1 << 30}
	q.events = 10
	admitted := make(chan bool, 1)
	go func() {
		ok, _ := q.tryAcquireWait(context.Background(), nil, 10, 10, time.Minute, func() {})
		admitted <- ok
	}()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
		q.mu.Lock()
		n := len(q.waiters)
		q.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the request never waited in line")
		}
	}
	q.release(1, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if n, err := q.acquire(ctx, nil, []Event{{}}, func() {}); err == nil {
		t.Fatalf("a blocking acquire took %d freed slot(s) while a request waited for them", n)
	}
	q.release(9, 9)
	if !<-admitted {
		t.Fatal("the waiting request was not admitted once the queue emptied")
	}
	if ev, _ := q.depth(); ev != 10 {
		t.Fatalf("queue holds %d events, want the request's 10", ev)
	}
}
