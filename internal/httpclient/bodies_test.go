package httpclient

import (
	"context"
	"testing"
	"time"
)

func TestBodiesWait(t *testing.T) {
	var bs Bodies
	a, b := bs.Add([]byte("a")), bs.Add([]byte("b"))
	_ = a.Close()
	if bs.Wait(t.Context(), 10*time.Millisecond) {
		t.Fatal("wait reported every body closed while one is open")
	}
	if !bs.Wait(t.Context(), 0) {
		t.Fatal("a failed wait must forget the bodies it waited for")
	}
	c := bs.Add([]byte("c"))
	go func() {
		time.Sleep(5 * time.Millisecond)
		_ = c.Close()
		_ = c.Close() // a transport may close twice
	}()
	if !bs.Wait(t.Context(), time.Minute) {
		t.Fatal("wait gave up on a body closed soon")
	}
	_ = b.Close()
	d := bs.Add([]byte("d"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if bs.Wait(ctx, time.Minute) {
		t.Fatal("wait reported an open body closed after its context ended")
	}
	_ = d.Close()
}
