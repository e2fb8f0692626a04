package http_test

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	httpsrc "github.com/flickerlog/flicker/sources/http"
)

// Senders that announce a large body, send part of it and then drip a byte now and then (never idle for the
// 10 s a read may wait) hold the source's body budget only until the whole body's deadline: then their
// connections are closed and the budget serves the others again.
func TestDrippingSendersLoseTheBudgetAtTheBodyDeadline(t *testing.T) {
	s := startServerWith(t, httpsrc.Config{MaxBodyBytes: 1 << 20}, engine.QueueLimits{},
		httpsrc.Options{BodyTimeout: time.Second}) // budget: 4 MiB of bodies
	addr := strings.TrimPrefix(s.url, "http://")
	line := []byte(`{"message":"` + strings.Repeat("x", 1000) + `"}` + "\n")
	part := bytes.Repeat(line, (900<<10)/len(line)) // 900 KiB of 1 MiB announced
	done := make(chan struct{})
	defer close(done)
	conns := make([]net.Conn, 5)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
		fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", 1<<20)
		if _, err := c.Write(part); err != nil {
			t.Fatal(err)
		}
		go func() {
			tick := time.NewTicker(200 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-done:
					return
				case <-tick.C:
					if _, err := c.Write([]byte(" ")); err != nil {
						return
					}
				}
			}
		}()
	}
	eventually(t, func() bool { st, _ := s.src.Stats("ingest"); return st.BodyBytesInFlight >= 3<<20 },
		"the drippers' bodies are not being read")
	start := time.Now()
	for {
		r := sendAsync("POST", s.url+"/", []byte(`{"message":"legit"}`+"\n"))
		if r.err == nil && r.status == 200 {
			break
		}
		if time.Since(start) > 15*time.Second {
			st, _ := s.src.Stats("ingest")
			t.Fatalf("for 15 s every other sender was refused (%d answers 429) while 5 connections dripped a byte "+
				"every 200ms with a 1s body deadline; body bytes in flight %d KiB", st.TooManyRequests,
				st.BodyBytesInFlight>>10)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 512)); err == nil {
			continue // answered (a 400 for the body it could not read whole)
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("dripping connection %d still open 5s after the deadline", i)
		}
	}
}
