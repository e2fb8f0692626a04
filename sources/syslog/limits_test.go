package syslog_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/servertls"
	"github.com/flickerlog/flicker/internal/servertls/servertlstest"
	"github.com/flickerlog/flicker/sources/syslog"
)

// syncBuffer is a log destination tests read while the source writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// started is a source under test: stop ends its context and waits for Run (once; the test's end does it too).
type started struct {
	src  *syslog.Source
	addr string
	log  *syncBuffer
	stop func()
}

// start runs a source of cfg on 127.0.0.1:0 with its log in a buffer; setup, when set, is called before Run.
func start(t *testing.T, cfg syslog.Config, pub engine.Publisher, setup func(*syslog.Source)) *started {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "sys"
	}
	cfg.Address = "127.0.0.1:0"
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	src, err := syslog.New(cfg, zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(src)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, pub) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Run did not return after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(5 * time.Second)
	for src.Addr() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the source did not listen")
		}
		time.Sleep(time.Millisecond)
	}
	return &started{src, src.Addr().String(), logs, stop}
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitClosed reads c until the source closes it (EOF or reset), failing after 5 seconds.
func waitClosed(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("the connection is still open")
		}
	}
}

// counting is a Publisher that keeps nothing: it counts the events and the largest call.
type counting struct{ n, largest atomic.Int64 }

func (c *counting) Publish(_ context.Context, evs []engine.Event) error {
	c.n.Add(int64(len(evs)))
	for {
		l := c.largest.Load()
		if int64(len(evs)) <= l || c.largest.CompareAndSwap(l, int64(len(evs))) {
			return nil
		}
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// Connections that sent a burst of tiny lines and went quiet hold about what a new connection holds (no room for
// thousands of events, no 64 KiB buffer or arena), and every Publish carries at most PublishBatch events. Not
// parallel: it measures the heap.
func TestIdleConnectionsHoldLittle(t *testing.T) {
	pub := &counting{}
	s := start(t, syslog.Config{}, pub, nil)
	const conns, lines = 20, 50_000 // 100 KB a connection: more than its 64 KiB buffer and thousands of events
	burst := []byte(strings.Repeat("a\n", lines))
	before := heapInUse()
	for range conns {
		c := dial(t, s.addr)
		if _, err := c.Write(burst); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every line published", func() bool { return pub.n.Load() == conns*lines })
	held := int64(heapInUse()) - int64(before)
	t.Logf("%d idle connections hold %d KiB", conns, held>>10)
	if limit := int64(conns * 32 << 10); held > limit {
		t.Errorf("%d idle connections hold %d KiB after their bursts were published, want under %d KiB", conns, held>>10, limit>>10)
	}
	if l := pub.largest.Load(); l > syslog.PublishBatch {
		t.Errorf("a Publish of %d events, want at most %d", l, syslog.PublishBatch)
	}
	if st := s.src.Stats(); st.Bytes != conns*lines {
		t.Errorf("bytes %d, want %d (the frames' bytes, line ends not counted)", st.Bytes, conns*lines)
	}
}

// Beyond max_connections a connection is closed at accept and counted, with one warning; once one closes, a new
// one is taken again.
func TestMaxConnections(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	s := start(t, syslog.Config{MaxConnections: 2}, rec, nil)
	a, b := dial(t, s.addr), dial(t, s.addr)
	waitFor(t, "two connections", func() bool { return s.src.Stats().Connections == 2 })
	for range 3 {
		waitClosed(t, dial(t, s.addr))
	}
	if st := s.src.Stats(); st.RejectedTooMany != 3 || st.Connections != 2 {
		t.Fatalf("stats %+v, want 3 rejected and 2 open", st)
	}
	if n := strings.Count(s.log.String(), "max_connections are open"); n != 1 {
		t.Errorf("%d warnings for 3 refused connections, want 1: %s", n, s.log.String())
	}
	fmt.Fprint(a, "<13>a: one\n")
	a.Close()
	waitFor(t, "one connection", func() bool { return s.src.Stats().Connections == 1 })
	c := dial(t, s.addr)
	fmt.Fprint(c, "<13>c: three\n")
	fmt.Fprint(b, "<13>b: two\n")
	rec.waitEvents(t, 3)
}

// idle_timeout closes a connection that sends nothing; without it a quiet connection stays.
func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	s := start(t, syslog.Config{IdleTimeout: 100 * time.Millisecond}, &recorder{}, nil)
	c := dial(t, s.addr)
	fmt.Fprint(c, "<13>a: one\n")
	waitClosed(t, c)
	waitFor(t, "no connection", func() bool { return s.src.Stats().Connections == 0 })

	quiet := start(t, syslog.Config{}, &recorder{}, nil)
	q := dial(t, quiet.addr)
	_ = q.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := q.Read(make([]byte, 1)); err == nil || !err.(net.Error).Timeout() {
		t.Fatalf("a quiet connection without idle_timeout: %v, want it kept open", err)
	}
}

// A TLS connection that never finishes its handshake is closed after the handshake bound; failed handshakes (a
// plain-text sender, a client without the certificate mutual TLS requires) are counted with one warning.
func TestTLSHandshakes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := servertlstest.WritePair(t, dir, "ca", "ca", nil)
	server := servertlstest.WritePair(t, dir, "server", "server", &ca)
	client := servertlstest.WritePair(t, dir, "client", "client", &ca)
	cfg := syslog.Config{Protocol: syslog.ProtocolTLS, TLS: &servertls.Config{CertFile: server.CertFile,
		KeyFile: server.KeyFile, ClientCAFile: ca.CertFile}}
	s := start(t, cfg, &recorder{}, func(src *syslog.Source) { src.SetTimeouts(200*time.Millisecond, time.Second) })

	silent := dial(t, s.addr) // sends no ClientHello
	waitClosed(t, silent)
	plain := dial(t, s.addr)
	fmt.Fprint(plain, "<13>app: not tls\n")
	waitClosed(t, plain)
	noCert, err := tls.Dial("tcp", s.addr, &tls.Config{RootCAs: servertlstest.Roots(ca)})
	if err == nil {
		// TLS 1.3: the client learns of the refusal on its first read.
		_, err = noCert.Read(make([]byte, 1))
		noCert.Close()
	}
	if err == nil {
		t.Fatal("a client without a certificate was taken")
	}
	waitFor(t, "3 failed handshakes", func() bool { return s.src.Stats().RejectedTLS == 3 })
	if n := strings.Count(s.log.String(), "TLS handshake failed"); n != 1 {
		t.Errorf("%d warnings for 3 failed handshakes, want 1", n)
	}
	cert, err := tls.LoadX509KeyPair(client.CertFile, client.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	good, err := tls.Dial("tcp", s.addr, &tls.Config{RootCAs: servertlstest.Roots(ca), Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	msg := "<13>app: mutual"
	fmt.Fprintf(good, "%d %s", len(msg), msg)
	waitFor(t, "the event", func() bool { return s.src.Stats().Events == 1 })
	if n := s.src.Stats().RejectedTLS; n != 3 {
		t.Fatalf("%d failed handshakes counted, want 3", n)
	}
}

// The per-connection warnings (broken framing, closed mid-frame) are logged once a minute per input, not once
// per connection.
func TestConnectionWarningsAreRateLimited(t *testing.T) {
	t.Parallel()
	s := start(t, syslog.Config{}, &recorder{}, nil)
	for range 3 {
		c := dial(t, s.addr)
		fmt.Fprint(c, "5 <13>aXX garbage")
		waitClosed(t, c)
		m := dial(t, s.addr)
		fmt.Fprint(m, "50 <13>a")
		m.Close()
	}
	waitFor(t, "6 partial frames", func() bool { return s.src.Stats().DroppedPartial == 6 })
	logs := s.log.String()
	if n, m := strings.Count(logs, "framing is broken"), strings.Count(logs, "in the middle of a frame"); n != 1 || m != 1 {
		t.Fatalf("%d and %d warnings for 3 connections each, want 1 and 1: %s", n, m, logs)
	}
}

// At a stop, what a connection read and had not queued yet is still published while the pipeline takes events
// (here: Publish unblocks after the stop began); what it cannot publish within the grace is counted.
func TestStopPublishesWhatWasRead(t *testing.T) {
	t.Parallel()
	for _, proto := range []string{syslog.ProtocolTCP, syslog.ProtocolUDP} {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			for _, unblock := range []bool{true, false} {
				gate := make(chan struct{})
				rec := &recorder{gate: gate}
				s := start(t, syslog.Config{Protocol: proto}, rec, func(src *syslog.Source) {
					src.SetTimeouts(time.Second, 300*time.Millisecond)
				})
				c, err := net.Dial(proto, s.addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if proto == syslog.ProtocolTCP {
					// One read: its three frames are one Publish, blocked (the connection is not read meanwhile).
					fmt.Fprint(c, "<13>app: one\n<13>app: two\n<13>app: three\n")
					waitFor(t, "a blocked Publish", func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return rec.calls == 1 })
				} else {
					// The reader goes on while the publisher blocks: two datagrams wait behind the first.
					fmt.Fprint(c, "<13>app: one")
					waitFor(t, "a blocked Publish", func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return rec.calls == 1 })
					fmt.Fprint(c, "<13>app: two")
					fmt.Fprint(c, "<13>app: three")
					time.Sleep(50 * time.Millisecond) // the reader takes them (a loopback datagram is not lost)
				}
				stopped := make(chan struct{})
				go func() { s.stop(); close(stopped) }()
				if unblock {
					time.Sleep(100 * time.Millisecond) // the stop has begun
					rec.mu.Lock()
					rec.gate = nil
					rec.mu.Unlock()
					close(gate)
				}
				<-stopped
				st := s.src.Stats()
				got := len(rec.snapshot())
				t.Logf("unblocked %v: %d events, stats %+v", unblock, got, st)
				if unblock && (got != 3 || st.DroppedShutdown != 0) {
					t.Errorf("Publish unblocked during the stop: %d events and %d dropped, want all read published", got, st.DroppedShutdown)
				}
				if !unblock && (got != 0 || st.DroppedShutdown != 3 || st.Bytes != 0 || st.Events != 0) {
					t.Errorf("Publish blocked past the grace: %d events and %d dropped at shutdown (stats %+v), want 0 and every one read, no bytes or events counted",
						got, st.DroppedShutdown, st)
				}
			}
		})
	}
}

// Invalid UTF-8 in a message or its members is counted (each byte is replaced with U+FFFD when encoded).
func TestInvalidEncodingCounted(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	s := start(t, syslog.Config{}, rec, nil)
	c := dial(t, s.addr)
	fmt.Fprint(c, "<13>1 - h app - - [x@1 k=\"v\xc3\"] msg \xe2\x82\n<13>1 - h app - - - fine\n")
	evs := rec.waitEvents(t, 2)
	if field(evs[0], "syslog.structured_data.x@1.k") != "v\ufffd" {
		t.Fatalf("event %v", evs[0])
	}
	if n := s.src.Stats().InvalidEncoding; n != 3 {
		t.Fatalf("%d invalid bytes counted, want 3 (1 in an SD value, 2 in the message)", n)
	}
}

func TestSourceString(t *testing.T) {
	cfg := syslog.Config{Name: "edge", Address: ":5514"}
	cfg.SetDefaults()
	src, err := syslog.New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(src); got != "syslog_sources edge" {
		t.Fatalf("String() = %q", got)
	}
}
