package elasticsearch

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
)

func names(hs []*host) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.name
	}
	return out
}

func TestHostPoolRoundRobinAndRest(t *testing.T) {
	now := time.Unix(1000, 0)
	p := newHostPool([]string{"a", "b", "c"})
	p.now = func() time.Time { return now }
	check := func(want ...string) {
		t.Helper()
		got := names(p.attemptOrder())
		for i := range want {
			if len(got) != len(want) || got[i] != want[i] {
				t.Fatalf("order %v, want %v", got, want)
			}
		}
	}
	check("a", "b", "c")
	check("b", "c", "a")
	check("c", "a", "b")

	p.failed(p.hosts[1]) // b rests 1s: last, while the others take turns
	check("a", "c", "b")
	check("c", "a", "b")
	now = now.Add(999 * time.Millisecond)
	check("c", "a", "b")
	now = now.Add(time.Millisecond)
	check("a", "b", "c") // back

	p.failed(p.hosts[1]) // b fails again: 2s
	p.failed(p.hosts[1]) // and again: 4s, until +5s
	p.failed(p.hosts[0]) // a: 1s, until +2s
	check("c", "a", "b")
	now = now.Add(3 * time.Second)
	p.failed(p.hosts[2]) // c rests until +5s like b; a is back
	check("a", "c", "b")
	p.failed(p.hosts[0]) // a rests until +6s: every host rests, the soonest back first
	got := p.attemptOrder()
	for i := 1; i < len(got); i++ {
		if got[i].restUntil.Before(got[i-1].restUntil) {
			t.Fatalf("resting hosts %v not ordered by their return", names(got))
		}
	}
	p.succeeded(p.hosts[1])
	if o := p.attemptOrder(); o[0].name != "b" {
		t.Fatalf("a host that answered is not first: %v", names(o))
	}
	for range 20 {
		p.failed(p.hosts[2])
	}
	if rest := p.hosts[2].restUntil.Sub(now); rest != hostRestMax {
		t.Fatalf("rest after 20 failures %s, want the cap %s", rest, hostRestMax)
	}
}

// TestSinkRestsFailingHosts: a host that answered 5xx or dropped the connection is not tried again while it
// rests (the clock is frozen here), and its requests go to the healthy host.
func TestSinkRestsFailingHosts(t *testing.T) {
	for _, mode := range []string{"503", "connection dropped"} {
		t.Run(mode, func(t *testing.T) {
			var bad, good atomic.Int32
			badSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				bad.Add(1)
				if mode == "503" {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				panic(http.ErrAbortHandler)
			}))
			defer badSrv.Close()
			goodSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				good.Add(1)
				_, _ = io.Copy(io.Discard, r.Body)
				_, _ = io.WriteString(w, `{"errors":false,"items":[]}`)
			}))
			defer goodSrv.Close()
			s, err := New(Config{Hosts: []string{badSrv.URL, goodSrv.URL}, Index: "logs"}, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = s.Close(context.Background()) }()
			frozen := time.Now()
			s.pool.now = func() time.Time { return frozen }
			for range 10 {
				b := engine.NewBatch([]engine.Event{testEvent(nil)})
				if err := s.Write(t.Context(), b); err != nil {
					t.Fatal(err)
				}
				if st, err := b.Status(0); st != engine.Accepted {
					t.Fatalf("status %v %v", st, err)
				}
			}
			if bad.Load() != 1 || good.Load() != 10 {
				t.Fatalf("the failing host got %d requests and the healthy one %d, want 1 and 10", bad.Load(),
					good.Load())
			}
		})
	}
}
