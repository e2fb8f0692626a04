package syslog

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"

	"github.com/flickerlog/flicker/engine"
)

// A connection's read buffer starts at firstBuffer and doubles when a frame does not fit (up to a whole frame of
// max_message_bytes) or a read fills it (up to busyBuffer: fewer reads for a busy sender).
const (
	firstBuffer = 4 << 10
	busyBuffer  = 64 << 10
)

// serveConn reads one connection until its sender closes it, its framing breaks or ctx ends. Each read's whole
// frames are published together; while Publish blocks (the queue is full) the connection is not read, so the
// kernel's buffers fill and the sender's writes stall: that is TCP's backpressure.
func (s *Source) serveConn(ctx context.Context, conn net.Conn, pub engine.Publisher) {
	s.stats.connections.Add(1)
	defer s.stats.connections.Add(-1)
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer func() {
		stop()
		_ = conn.Close()
	}()
	peer := addrPort(conn.RemoteAddr())
	log := s.log.With().Str("peer", peer.String()).Logger()
	log.Debug().Msg("connection opened")
	defer log.Debug().Msg("connection closed")
	b := s.newBuilder(s.newStream(peer, true))
	f := framer{max: s.cfg.MaxMessageBytes}
	limit := maxFrameBuffer(s.cfg.MaxMessageBytes)
	buf := make([]byte, min(firstBuffer, limit))
	r, w := 0, 0
	for {
		n, rerr := conn.Read(buf[w:])
		full := w+n == len(buf)
		w += n
		eof := rerr != nil
		now := s.now()
		for {
			k, frame, cut, err := f.next(buf[r:w], eof)
			if err != nil {
				log.Warn().Err(err).Int("partial_bytes", w-r).Msg("closing the connection: its framing is broken")
				s.stats.droppedPart.Add(1)
				_ = b.publish(ctx, pub)
				return
			}
			if k == 0 {
				break
			}
			r += k
			if frame != nil {
				b.add(frame, now, peer, false, cut)
			}
		}
		if err := b.publish(ctx, pub); err != nil {
			return // ctx ended or the pipeline stopped
		}
		if eof {
			if r < w {
				s.stats.droppedPart.Add(1)
				log.Warn().Int("partial_bytes", w-r).Msg("connection closed in the middle of a frame: its start is dropped")
			}
			if !errors.Is(rerr, io.EOF) && ctx.Err() == nil && !errors.Is(rerr, net.ErrClosed) {
				log.Debug().Err(rerr).Msg("connection read")
			}
			return
		}
		// Keep the unfinished frame at the start of the buffer, growing it when the frame does not fit yet.
		w = copy(buf, buf[r:w])
		r = 0
		if size := len(buf); w == size && size < limit || full && size < max(limit, busyBuffer) {
			grown := make([]byte, min(2*size, max(limit, busyBuffer)))
			copy(grown, buf[:w])
			buf = grown
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
