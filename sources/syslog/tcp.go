package syslog

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/flickerlog/flicker/engine"
)

// A connection's read buffer starts at firstBuffer and doubles when a frame does not fit (up to a whole frame of
// max_message_bytes) or a read fills it (up to busyBuffer: fewer reads for a busy sender). Once a read does not
// fill it (the sender paused) and little of a frame is left, it shrinks back to firstBuffer.
const (
	firstBuffer = 4 << 10
	busyBuffer  = 64 << 10
)

// serveConn reads one connection until its sender closes it, its framing breaks, it stays idle for idle_timeout
// or ctx ends. The frames of a read are published in runs of at most publishBatch; while Publish blocks (the
// queue is full) the connection is not read, so the kernel's buffers fill and the sender's writes stall: that is
// TCP's backpressure.
func (s *Source) serveConn(ctx context.Context, conn net.Conn, pub engine.Publisher) {
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer func() {
		stop()
		_ = conn.Close()
	}()
	peer := addrPort(conn.RemoteAddr())
	log := s.log.With().Str("peer", peer.String()).Logger()
	if s.tls != nil {
		tc := tls.Server(conn, s.tls)
		hctx, cancel := context.WithTimeout(ctx, s.handshakeTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				s.stats.rejectedTLS.Add(1)
				if s.warnTLS.allow(time.Now()) {
					log.Warn().Err(err).Msg("TLS handshake failed: connection closed (logged once a minute per input)")
				}
			}
			return
		}
		conn = tc
	}
	log.Debug().Msg("connection opened")
	defer log.Debug().Msg("connection closed")
	pctx, cancel := s.publishContext(ctx)
	defer cancel()
	b := s.newBuilder(s.newStream(peer, true))
	f := framer{max: s.cfg.MaxMessageBytes}
	limit := maxFrameBuffer(s.cfg.MaxMessageBytes)
	buf := make([]byte, min(firstBuffer, limit))
	r, w := 0, 0
	for {
		if s.cfg.IdleTimeout > 0 {
			_ = conn.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout))
		}
		n, rerr := conn.Read(buf[w:])
		full := w+n == len(buf)
		w += n
		eof := rerr != nil
		// Only a clean end (the sender closed its side) makes the last bytes a frame without their newline: after
		// a reset, an idle timeout or a stop they are a frame's start, dropped and counted as with octet counting.
		clean := errors.Is(rerr, io.EOF)
		now := s.now()
		for {
			k, frame, cut, err := f.next(buf[r:w], clean)
			if err != nil {
				s.stats.droppedPart.Add(1)
				if s.warnFraming.allow(now) {
					log.Warn().Err(err).Int("partial_bytes", w-r).
						Msg("closing the connection: its framing is broken (logged once a minute per input)")
				}
				_ = b.publish(pctx, pub)
				return
			}
			if k == 0 {
				break
			}
			r += k
			if frame != nil {
				b.add(frame, now, peer, false, cut)
				if len(b.events) >= publishBatch {
					if err := b.publish(pctx, pub); err != nil {
						return
					}
				}
			}
		}
		if err := b.publish(pctx, pub); err != nil {
			return // the pipeline stopped
		}
		if eof {
			if r < w {
				s.stats.droppedPart.Add(1)
				if s.warnPartial.allow(now) {
					log.Warn().Int("partial_bytes", w-r).
						Msg("connection closed in the middle of a frame: its start is dropped (logged once a minute per input)")
				}
			}
			var ne net.Error
			switch {
			case errors.As(rerr, &ne) && ne.Timeout():
				log.Debug().Dur("idle_timeout", s.cfg.IdleTimeout).Msg("closing an idle connection")
			case !errors.Is(rerr, io.EOF) && ctx.Err() == nil && !errors.Is(rerr, net.ErrClosed):
				log.Debug().Err(rerr).Msg("connection read")
			}
			return
		}
		// Keep the unfinished frame at the start of the buffer, growing it when the frame does not fit yet.
		w = copy(buf, buf[r:w])
		r = 0
		switch size := len(buf); {
		case w == size && size < limit || full && size < max(limit, busyBuffer):
			grown := make([]byte, min(2*size, max(limit, busyBuffer)))
			copy(grown, buf[:w])
			buf = grown
		case !full:
			// The sender paused (the read did not fill the buffer): a quiet connection holds no more than a new
			// one, the start of a frame it keeps included.
			if size > firstBuffer && w <= firstBuffer/2 {
				small := make([]byte, min(firstBuffer, limit))
				copy(small, buf[:w])
				buf = small
			}
			b.idle()
		}
	}
}

// addrPort returns a connection's peer address; the zero value for other kinds of addresses.
func addrPort(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort()
	case *net.UDPAddr:
		return a.AddrPort()
	}
	return netip.AddrPort{}
}
