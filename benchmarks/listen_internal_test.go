package benchmarks

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// fakeReceiver stands in for a flicker with a listening source: a TCP listener that starts reading lines only
// when gate is closed, and a /metrics that reports the lines read as acknowledged events, at most 100 more at
// each scrape, so that everything is acknowledged only some scrapes after the send.
type fakeReceiver struct {
	listen, metrics string
	gate            chan struct{}
	read, served    atomic.Int64 // lines read; the last acknowledged count /metrics answered
}

func newFakeReceiver(t *testing.T) *fakeReceiver {
	t.Helper()
	r := &fakeReceiver{gate: make(chan struct{})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.listen = l.Addr().String()
	done := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() {
		close(done)
		l.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer conn.Close()
				select {
				case <-r.gate:
				case <-done:
					return
				}
				sc := bufio.NewScanner(conn)
				for sc.Scan() {
					r.read.Add(1)
				}
			})
		}
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := min(r.read.Load(), r.served.Load()+100)
		r.served.Store(n)
		fmt.Fprintf(w, "flicker_pipeline_events_acknowledged_total %d\n", n)
	}))
	t.Cleanup(srv.Close)
	r.metrics = strings.TrimPrefix(srv.URL, "http://")
	return r
}

// sendLines writes n lines to addr, burning burn of this process's CPU first, and opens the gate once they are written.
func (r *fakeReceiver) sendLines(addr string, n int, burn time.Duration) func() (Sent, error) {
	return func() (Sent, error) {
		defer close(r.gate)
		for start := selfCPU(); selfCPU()-start < burn; {
		}
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			return Sent{}, err
		}
		defer conn.Close()
		line := "<134>1 - - - - - - a line\n"
		if _, err := conn.Write([]byte(strings.Repeat(line, n))); err != nil {
			return Sent{}, err
		}
		return Sent{Events: int64(n), Bytes: int64(n * len(line))}, nil
	}
}

func TestMeasureListeningWaitsUntilEverythingSentIsAcknowledged(t *testing.T) {
	t.Parallel()
	r := newFakeReceiver(t)
	run, err := measureListening(os.Getpid(), r.metrics, r.listen, time.Minute, nil,
		r.sendLines(r.listen, 1000, 300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if served := r.served.Load(); served < 1000 {
		t.Fatalf("measured when /metrics last said %d acknowledged, want all 1000 sent", served)
	}
	if run.Lines != 1000 || run.Bytes != 1000*26 || run.Elapsed < 300*time.Millisecond {
		t.Fatalf("run %+v: want 1000 events, 26000 bytes, over at least the send's 300ms of CPU", run)
	}
	// The CPU is this process's over the run (the test plays flicker's part): at least what the send burned
	// (less the 10ms ticks of /proc), at most what the machine's cores could give it.
	if run.CPU < 280*time.Millisecond || run.CPU > run.Elapsed*time.Duration(runtime.NumCPU())+20*time.Millisecond {
		t.Fatalf("CPU %s over %s, want at least the 300ms the send burned", run.CPU, run.Elapsed)
	}
	if run.PeakRSS <= 0 {
		t.Fatalf("peak RSS %d", run.PeakRSS)
	}
}

func TestMeasureListeningSaysWhatWasNotAcknowledged(t *testing.T) {
	t.Parallel()
	r := newFakeReceiver(t)
	send := func() (Sent, error) { return Sent{Events: 1000, Bytes: 1}, nil } // nothing ever arrives
	_, err := measureListening(os.Getpid(), r.metrics, r.listen, 300*time.Millisecond, nil, send)
	if err == nil || !strings.Contains(err.Error(), "0 of 1000 events acknowledged") {
		t.Fatalf("measureListening: %v, want it to say 0 of 1000 events were acknowledged", err)
	}
}

func TestMeasureListeningWaitsForTheListener(t *testing.T) {
	t.Parallel()
	r := newFakeReceiver(t)
	closed, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	called := false
	_, err = measureListening(os.Getpid(), r.metrics, closed, 300*time.Millisecond, nil,
		func() (Sent, error) { called = true; return Sent{}, nil })
	if err == nil || called {
		t.Fatalf("measureListening with nothing on %s: %v, send called %v; want an error before any send", closed,
			err, called)
	}
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
