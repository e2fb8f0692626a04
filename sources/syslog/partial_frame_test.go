package syslog_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sources/syslog"
)

// A newline-framed connection that ends abnormally in the middle of a line (flicker stops, the idle timeout
// closes it, the sender resets it) does not ship that line's start as a whole message: it is a partial frame,
// dropped and counted, as with octet counting. Only a clean close (FIN) makes the last bytes a message.
func TestAbnormalEndDoesNotShipHalfALine(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  syslog.Config
		end  func(t *testing.T, s *started, c net.Conn)
	}{
		{"stop", syslog.Config{}, func(t *testing.T, s *started, c net.Conn) { s.stop() }},
		{"idle timeout", syslog.Config{IdleTimeout: 200 * time.Millisecond}, func(t *testing.T, s *started, c net.Conn) {
			waitClosed(t, c)
		}},
		{"reset", syslog.Config{}, func(t *testing.T, s *started, c net.Conn) {
			_ = c.(*net.TCPConn).SetLinger(0)
			_ = c.Close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			s := start(t, tc.cfg, rec, nil)
			c := dial(t, s.addr)
			fmt.Fprint(c, "<13>app: complete\n<13>app: the first half of a li")
			rec.waitEvents(t, 1)
			time.Sleep(100 * time.Millisecond) // the half line is read (buffered)
			tc.end(t, s, c)
			waitFor(t, "no connection", func() bool { return s.src.Stats().Connections == 0 })
			if evs := rec.snapshot(); len(evs) != 1 {
				t.Fatalf("%d events, last %q: the start of an unfinished line was shipped as a message",
					len(evs), evs[len(evs)-1]["message"])
			}
			if n := s.src.Stats().DroppedPartial; n != 1 {
				t.Errorf("%d partial frames counted, want 1", n)
			}
		})
	}
}
