package loadgen

import (
	"context"
	"fmt"
	"net"
)

// SendTCP writes p's chunks (framed syslog messages: Syslog) to addr from o.Senders connections at once, one
// connection per sender, opened at the start and closed at the end. TCP syslog has no acknowledgement: a write
// that returned counts its events, though the receiver may still be reading them when SendTCP returns. A failed
// dial or write ends the run with an error (and the Result so far).
func SendTCP(ctx context.Context, addr string, p Payload, o Options) (Result, error) {
	var dialer net.Dialer
	return run(ctx, p, o, func(ctx context.Context, c *counters, take func() ([]byte, int64, bool)) error {
		conn, err := dialer.DialContext(ctx, "tcp", addr)
		if err != nil {
			return fmt.Errorf("syslog %s: %w", addr, err)
		}
		stop := context.AfterFunc(ctx, func() { conn.Close() }) // unblocks a write when the run is cancelled
		defer func() {
			if stop() {
				conn.Close()
			}
		}()
		for {
			chunk, events, ok := take()
			if !ok {
				return nil
			}
			if _, err := conn.Write(chunk); err != nil {
				if ctx.Err() != nil {
					return nil // the run's cause says why
				}
				return fmt.Errorf("syslog %s: %w", addr, err)
			}
			c.done(events, int64(len(chunk)))
		}
	})
}
