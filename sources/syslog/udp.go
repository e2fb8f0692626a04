package syslog

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"

	"github.com/flickerlog/flicker/engine"
)

// maxDatagram is the largest UDP payload.
const maxDatagram = 65535

// maxPendingDatagrams and maxPendingBytes bound what a UDP source holds while the pipeline's queue is full;
// beyond them datagrams are dropped and counted (UDP has no way to slow the sender: holding more would only grow
// memory).
const (
	maxPendingDatagrams = 4096
	maxPendingBytes     = 4 << 20
)

// serveUDP reads datagrams until ctx ends: one datagram is one message. The reader never waits for the
// pipeline: a second goroutine publishes what the reader collected, and while it is blocked (queue full) the
// reader collects up to maxPendingDatagrams or maxPendingBytes, then drops.
func (s *Source) serveUDP(ctx context.Context, conn *net.UDPConn, pub engine.Publisher) error {
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	b := s.newBuilder(s.newStream(netip.AddrPort{}, false))
	var (
		mu      sync.Mutex // guards b.events, which the reader fills and the publisher takes, and pending
		pending int        // bytes of the datagrams in b.events
		wake    = make(chan struct{}, 1)
		wg      sync.WaitGroup
	)
	wg.Go(func() {
		var out []engine.Event
		for {
			select {
			case <-ctx.Done():
				return
			case <-wake:
			}
			mu.Lock()
			out, b.events, pending = b.events, out[:0], 0
			mu.Unlock()
			err := pub.Publish(ctx, out)
			if err != nil {
				return
			}
			s.stats.events.Add(uint64(len(out)))
			clear(out)
		}
	})
	defer wg.Wait()

	buf := make([]byte, min(s.cfg.MaxMessageBytes, maxDatagram)+1)
	for {
		n, peer, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			s.log.Warn().Err(err).Msg("udp read")
			continue
		}
		if n > s.cfg.MaxMessageBytes {
			s.stats.droppedTooLarge.Add(1)
			continue
		}
		now := s.now()
		mu.Lock()
		if len(b.events) >= maxPendingDatagrams || pending+n > maxPendingBytes {
			mu.Unlock()
			s.stats.droppedQueue.Add(1)
			continue
		}
		b.add(buf[:n], now, peer, true, false)
		pending += n
		mu.Unlock()
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}
