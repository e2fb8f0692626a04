package syslog

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

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
// reader collects up to maxPendingDatagrams or maxPendingBytes, then drops. At a stop what was collected is still
// published, for up to shutdownGrace.
func (s *Source) serveUDP(ctx context.Context, conn *net.UDPConn, pub engine.Publisher) error {
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	pctx, cancel := s.publishContext(ctx)
	defer cancel()
	b := s.newBuilder(s.newStream(netip.AddrPort{}, false))
	var (
		mu       sync.Mutex // guards b.events and b.bytes, which the reader fills and the publisher takes, and pending
		pending  int        // bytes of the datagrams in b.events
		stopped  bool       // the pipeline stopped taking events
		wake     = make(chan struct{}, 1)
		readDone = make(chan struct{}) // the reader returned: publish what is left, then return
		wg       sync.WaitGroup
	)
	wg.Go(func() {
		out := &builder{src: s}
		for {
			last := false
			select {
			case <-readDone:
				last = true
			case <-wake:
			}
			mu.Lock()
			out.events, b.events = b.events, out.events[:0]
			out.bytes, b.bytes, pending = b.bytes, 0, 0
			mu.Unlock()
			if err := out.publish(pctx, pub); err != nil || last {
				if err != nil {
					mu.Lock()
					stopped = true // the reader drops what it reads from now on, and what it collected
					s.stats.droppedShutdown.Add(uint64(len(b.events)))
					clear(b.events)
					b.events, b.bytes = b.events[:0], 0
					mu.Unlock()
				}
				return
			}
		}
	})
	defer wg.Wait()
	defer close(readDone)

	buf := make([]byte, min(s.cfg.MaxMessageBytes, maxDatagram)+1)
	var backoff time.Duration // after consecutive read errors
	for {
		n, peer, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			backoff = min(max(2*backoff, 10*time.Millisecond), time.Second)
			if s.warnUDP.allow(time.Now()) {
				s.log.Warn().Err(err).Dur("retry_in", backoff).Msg("udp read (logged once a minute per input)")
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		if n > s.cfg.MaxMessageBytes {
			s.stats.droppedTooLarge.Add(1)
			continue
		}
		now := s.now()
		mu.Lock()
		if stopped {
			mu.Unlock()
			s.stats.droppedShutdown.Add(1)
			continue
		}
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
