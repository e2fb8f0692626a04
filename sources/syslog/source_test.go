package syslog_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/eventjson"
	"github.com/flickerlog/flicker/internal/servertls"
	"github.com/flickerlog/flicker/internal/servertls/servertlstest"
	"github.com/flickerlog/flicker/sources/syslog"
)

// recorder is a Publisher that keeps the events as flicker encodes them; while gate is set, Publish waits for
// it to close.
type recorder struct {
	mu     sync.Mutex
	enc    eventjson.Encoder
	events []map[string]any
	gate   chan struct{}
	calls  int
}

func (r *recorder) Publish(ctx context.Context, evs []engine.Event) error {
	r.mu.Lock()
	gate := r.gate
	r.calls++
	r.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range evs {
		var doc map[string]any
		b := r.enc.Append(nil, &evs[i])
		if err := json.Unmarshal(b, &doc); err != nil {
			panic(fmt.Sprintf("%s: %v", b, err))
		}
		doc["_pos"] = evs[i].Pos
		r.events = append(r.events, doc)
	}
	return nil
}

func (r *recorder) snapshot() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.events...)
}

// waitEvents waits until r holds n events and returns them.
func (r *recorder) waitEvents(t *testing.T, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs := r.snapshot()
		if len(evs) >= n {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events, want %d", len(evs), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runSource starts a source of cfg on 127.0.0.1:0 publishing to pub; the test's end stops it and checks that
// Run returned.
func runSource(t *testing.T, cfg syslog.Config, pub engine.Publisher) (*syslog.Source, string) {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "sys"
	}
	cfg.Address = "127.0.0.1:0"
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	src, err := syslog.New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, pub) }()
	t.Cleanup(func() {
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
	deadline := time.Now().Add(5 * time.Second)
	for src.Addr() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the source did not listen")
		}
		time.Sleep(time.Millisecond)
	}
	return src, src.Addr().String()
}

func field(doc map[string]any, path string) any {
	var v any = doc
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func TestTCPFramingsAndMembers(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	_, addr := runSource(t, syslog.Config{}, rec)
	octet := dial(t, addr)
	msg := `<165>1 2003-10-11T22:14:15.003Z mymachine evntslog 42 ID47 [ex@1 iut="3"] octet one`
	fmt.Fprintf(octet, "%d %s", len(msg), msg)
	fmt.Fprintf(octet, "%d %s", len("<13>Oct 11 22:14:15 host app: octet two"), "<13>Oct 11 22:14:15 host app: octet two")
	line := dial(t, addr)
	fmt.Fprint(line, "<34>Oct 11 22:14:15 mymachine su[7]: line one\r\n<34>line two\n<999>1 broken\n")
	evs := rec.waitEvents(t, 5)
	byMsg := map[string]map[string]any{}
	ids := map[any]bool{}
	for _, e := range evs {
		byMsg[e["message"].(string)] = e
		ids[e["id"]] = true
		if field(e, "source.address") != "127.0.0.1" || field(e, "source.port") == nil || field(e, "input.type") != "syslog" {
			t.Errorf("event without its source or input: %v", e)
		}
	}
	if len(ids) != 5 {
		t.Errorf("%d distinct ids for 5 events", len(ids))
	}
	one := byMsg["octet one"]
	if one == nil || field(one, "syslog.msgid") != "ID47" || field(one, "syslog.procid") != "42" ||
		field(one, "syslog.structured_data.ex@1.iut") != "3" || field(one, "host.hostname") != "mymachine" ||
		one["@timestamp"] != "2003-10-11T22:14:15.003000000Z" || field(one, "syslog.severity") != 5.0 {
		t.Errorf("octet one: %v", one)
	}
	if e := byMsg["line one"]; e == nil || field(e, "syslog.appname") != "su" || field(e, "syslog.procid") != "7" {
		t.Errorf("line one (CR LF trimmed): %v", e)
	}
	if e := byMsg["line two"]; e == nil || field(e, "syslog.facility_label") != "auth" {
		t.Errorf("line two: %v", e)
	}
	bad := byMsg["<999>1 broken"]
	if bad == nil || !strings.Contains(fmt.Sprint(field(bad, "error.message")), "priority from 0 to 191") {
		t.Errorf("a frame that does not parse is shipped raw with error.message: %v", bad)
	}
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestLongFramesAreCutAndTheConnectionGoesOn(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	src, addr := runSource(t, syslog.Config{MaxMessageBytes: 500}, rec)
	long := "<13>app: " + strings.Repeat("x", 2000)
	c := dial(t, addr)
	fmt.Fprintf(c, "%d %s%d %s", len(long), long, len("<13>app: after"), "<13>app: after")
	l := dial(t, addr)
	fmt.Fprintf(l, "%s\n<13>app: after line\n", long)
	evs := rec.waitEvents(t, 4)
	cut := 0
	for _, e := range evs {
		if field(e, "log.flags") != nil {
			cut++
			if msg := e["message"].(string); len(msg) != 500-len("<13>app: ") {
				t.Errorf("cut message of %d bytes", len(msg))
			}
		}
	}
	if cut != 2 || src.Stats().Truncated != 2 {
		t.Fatalf("%d events flagged truncated, %d counted, want 2: %v", cut, src.Stats().Truncated, evs)
	}
	after := map[any]bool{}
	for _, e := range evs {
		after[e["message"]] = true
	}
	if !after["after"] || !after["after line"] {
		t.Fatalf("a message after a cut frame is lost: %v", evs)
	}
}

func TestBrokenFramingClosesOnlyThatConnection(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	src, addr := runSource(t, syslog.Config{}, rec)
	good := dial(t, addr)
	bad := dial(t, addr)
	fmt.Fprint(bad, "5 <13>a") // a frame, then garbage where a length should be
	fmt.Fprint(bad, "XX garbage")
	buf := make([]byte, 1)
	_ = bad.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := bad.Read(buf); err == nil {
		t.Fatal("the connection with broken framing was not closed")
	}
	fmt.Fprint(good, "<13>still here\n")
	evs := rec.waitEvents(t, 2)
	if len(evs) != 2 || src.Stats().DroppedPartial != 1 {
		t.Fatalf("events %v, dropped partial %d", evs, src.Stats().DroppedPartial)
	}
}

func TestUDP(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	src, addr := runSource(t, syslog.Config{Protocol: syslog.ProtocolUDP, MaxMessageBytes: 600}, rec)
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 3 {
		fmt.Fprintf(c, "<13>Oct 11 22:14:15 h app[%d]: datagram %d", i, i)
	}
	fmt.Fprint(c, "<13>"+strings.Repeat("y", 700)) // over max_message_bytes: dropped
	fmt.Fprint(c, "<13>app: last")
	evs := rec.waitEvents(t, 4)
	if len(evs) != 4 || evs[3]["message"] != "last" || field(evs[0], "source.address") != "127.0.0.1" ||
		field(evs[2], "syslog.procid") != "2" {
		t.Fatalf("events: %v", evs)
	}
	if st := src.Stats(); st.DroppedTooLarge != 1 || st.Events != 4 {
		t.Fatalf("stats %+v", st)
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	certFile, keyFile, roots := servertlstest.WriteSelfSigned(t, t.TempDir())
	rec := &recorder{}
	_, addr := runSource(t, syslog.Config{Protocol: syslog.ProtocolTLS,
		TLS: &servertls.Config{CertFile: certFile, KeyFile: keyFile}}, rec)
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := "<165>1 2003-10-11T22:14:15.003Z h app - - - over tls"
	fmt.Fprintf(c, "%d %s", len(msg), msg)
	if evs := rec.waitEvents(t, 1); evs[0]["message"] != "over tls" {
		t.Fatalf("events: %v", evs)
	}
}

// While Publish blocks (the queue is full) the connection is not read: the sender's writes stall; once it
// unblocks, everything arrives.
func TestBackpressureStallsTheSender(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	rec := &recorder{gate: gate}
	_, addr := runSource(t, syslog.Config{}, rec)
	c := dial(t, addr)
	line := "<13>app: " + strings.Repeat("z", 1000) + "\n"
	sent := 0
	stalled := false
	for sent < 100000 {
		_ = c.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
		if _, err := c.Write([]byte(line)); err != nil {
			stalled = true
			break
		}
		sent++
	}
	if !stalled {
		t.Fatalf("%d lines (%d MB) written while the pipeline took nothing: no backpressure", sent, sent*len(line)>>20)
	}
	rec.mu.Lock()
	rec.gate = nil
	rec.mu.Unlock()
	close(gate)
	_ = c.SetWriteDeadline(time.Time{})
	c.Close() // the stalled write may have written part of a line: that one is shipped as the last, shorter
	evs := rec.waitEvents(t, sent)
	if len(evs) < sent {
		t.Fatalf("%d events, %d lines sent", len(evs), sent)
	}
}

// Run ends every connection when its context ends, and returns (goleak in TestMain checks the goroutines).
func TestShutdownClosesConnections(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	cfg := syslog.Config{Name: "sys", Address: "127.0.0.1:0"}
	cfg.SetDefaults()
	src, err := syslog.New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, rec) }()
	for src.Addr() == nil {
		time.Sleep(time.Millisecond)
	}
	conns := []net.Conn{dial(t, src.Addr().String()), dial(t, src.Addr().String())}
	fmt.Fprint(conns[0], "<13>one\n")
	rec.waitEvents(t, 1)
	for src.Stats().Connections != 2 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	if n := src.Stats().Connections; n != 0 {
		t.Fatalf("%d connections open after Run returned", n)
	}
}

// While Publish blocks, a UDP source holds a bounded number of datagrams (4096, or 4 MiB) and counts the ones
// it drops, instead of letting the kernel drop them unseen or its memory grow; once Publish returns, what it held
// arrives.
func TestUDPDropsCountedWhileTheQueueIsFull(t *testing.T) {
	for _, tt := range []struct {
		name      string
		size      int
		min, most int // events that arrive once Publish returns
	}{
		{"small datagrams: 4096 held", 40, 4096, 1 << 30},
		{"large datagrams: 4 MiB held", 8000, 4 << 20 / 8040, 4 << 20 / 8000 * 2}, // each datagram is 8000 bytes and its "<13>app: datagram N "
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gate := make(chan struct{})
			rec := &recorder{gate: gate}
			src, addr := runSource(t, syslog.Config{Protocol: syslog.ProtocolUDP}, rec)
			c, err := net.Dial("udp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			pad := strings.Repeat("d", tt.size)
			sent := 0
			deadline := time.Now().Add(20 * time.Second)
			for src.Stats().DroppedQueue == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("no drop counted after %d datagrams while Publish blocked: %+v", sent, src.Stats())
				}
				for range 10 {
					fmt.Fprintf(c, "<13>app: datagram %d %s", sent, pad)
					sent++
				}
				time.Sleep(time.Millisecond) // leave the reader time: a drop by the kernel is not what this counts
			}
			rec.mu.Lock()
			rec.gate = nil
			rec.mu.Unlock()
			close(gate)
			evs := rec.waitEvents(t, tt.min)
			st := src.Stats()
			if uint64(len(evs))+st.DroppedQueue > uint64(sent) || len(evs) > tt.most {
				t.Fatalf("%d events and %d dropped of %d sent", len(evs), st.DroppedQueue, sent)
			}
		})
	}
}
