package syslog

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
)

// InputType is input.type of the events.
const InputType = "syslog"

// Source is one syslog_sources entry: a listener on TCP, UDP or TLS.
type Source struct {
	cfg   Config
	log   zerolog.Logger
	input *engine.Input
	loc   *time.Location
	tls   *tls.Config
	stats counters
	now   func() time.Time
	conns atomic.Uint64 // connections accepted, for stream seeds
	// warned is when the last malformed frame was logged (Unix nanoseconds): once a minute per source.
	warned atomic.Int64

	mu   sync.Mutex
	addr net.Addr // the bound address once Run listens
}

// Stats are a source's counters since New.
type Stats struct {
	Events, Bytes   uint64 // messages published and their frame bytes
	Malformed       uint64 // frames that did not parse, shipped raw with error.message
	Truncated       uint64 // frames cut at max_message_bytes (TCP)
	DroppedTooLarge uint64 // UDP datagrams over max_message_bytes
	DroppedQueue    uint64 // UDP datagrams dropped while the queue was full
	DroppedPartial  uint64 // unfinished frames at the end of a connection (closed, or framing broken)
	Connections     int64  // TCP/TLS connections open now
}

type counters struct {
	events, bytes, malformed, truncated        atomic.Uint64
	droppedTooLarge, droppedQueue, droppedPart atomic.Uint64
	connections                                atomic.Int64
}

// New builds the source of cfg (defaulted and validated). It does not listen yet: Run does.
func New(cfg Config, log zerolog.Logger) (*Source, error) {
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return nil, fmt.Errorf("timezone: %w", err)
	}
	s := &Source{
		cfg:   cfg,
		log:   log.With().Str("component", "syslog").Str("input", cfg.Name).Logger(),
		input: &engine.Input{Name: cfg.Name, Type: InputType},
		loc:   loc,
		now:   time.Now,
	}
	if cfg.Protocol == ProtocolTLS {
		if s.tls, err = cfg.TLS.ServerConfig(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Input describes the source's input.
func (s *Source) Input() *engine.Input { return s.input }

// Addr is the address Run listens on (a port 0 resolved), nil before it listens.
func (s *Source) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Stats returns the source's counters.
func (s *Source) Stats() Stats {
	c := &s.stats
	return Stats{Events: c.events.Load(), Bytes: c.bytes.Load(), Malformed: c.malformed.Load(),
		Truncated: c.truncated.Load(), DroppedTooLarge: c.droppedTooLarge.Load(),
		DroppedQueue: c.droppedQueue.Load(), DroppedPartial: c.droppedPart.Load(),
		Connections: c.connections.Load()}
}

// malformedLogEvery rate-limits the warning about frames that do not parse.
const malformedLogEvery = time.Minute

// warnMalformed logs a frame that did not parse, at most once per malformedLogEvery.
func (s *Source) warnMalformed(peer netip.AddrPort, now time.Time, err error) {
	last := s.warned.Load()
	if now.UnixNano()-last < int64(malformedLogEvery) || !s.warned.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	s.log.Warn().Err(err).Str("peer", peer.String()).
		Msg("malformed frame shipped as it is with error.message (logged once a minute per input)")
}

// Run listens and publishes what arrives until ctx ends. Failing to listen is its only error. It returns after
// every connection it accepted is closed and its goroutine ended.
func (s *Source) Run(ctx context.Context, pub engine.Publisher) error {
	network := "tcp"
	if s.cfg.Protocol == ProtocolUDP {
		network = "udp"
	}
	var lc net.ListenConfig
	if network == "udp" {
		pc, err := lc.ListenPacket(ctx, network, s.cfg.Address)
		if err != nil {
			return fmt.Errorf("syslog %s: listen on %s: %w", s.cfg.Name, s.cfg.Address, err)
		}
		s.listening(pc.LocalAddr())
		return s.serveUDP(ctx, pc.(*net.UDPConn), pub)
	}
	ln, err := lc.Listen(ctx, network, s.cfg.Address)
	if err != nil {
		return fmt.Errorf("syslog %s: listen on %s: %w", s.cfg.Name, s.cfg.Address, err)
	}
	s.listening(ln.Addr())
	return s.serveTCP(ctx, ln, pub)
}

func (s *Source) listening(addr net.Addr) {
	s.mu.Lock()
	s.addr = addr
	s.mu.Unlock()
	s.log.Info().Str("address", addr.String()).Str("protocol", s.cfg.Protocol).Str("format", s.cfg.Format).
		Msg("listening for syslog")
}

// serveTCP accepts connections until ctx ends, each read by its own goroutine; then it closes them all and
// waits for their goroutines.
func (s *Source) serveTCP(ctx context.Context, ln net.Listener, pub engine.Publisher) error {
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// EMFILE and the like: wait a little rather than spin.
			s.log.Warn().Err(err).Msg("accept")
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		if s.tls != nil {
			conn = tls.Server(conn, s.tls)
		}
		wg.Go(func() { s.serveConn(ctx, conn, pub) })
	}
}
