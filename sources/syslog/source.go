package syslog

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
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
	// handshakeTimeout bounds a TLS handshake; shutdownGrace is how long what was read keeps being published
	// after the context ended (the pipeline takes events until every source returned).
	handshakeTimeout, shutdownGrace time.Duration
	// The warnings a sender can cause are logged at most once per warnEvery each.
	warnMalformed, warnFraming, warnPartial, warnTooMany, warnTLS, warnUDP rateLimit

	mu   sync.Mutex
	addr net.Addr // the bound address once Run listens
}

// Stats are a source's counters since New.
type Stats struct {
	Events, Bytes   uint64 // messages published and their frame bytes
	Malformed       uint64 // frames that did not parse, shipped raw with error.message
	Truncated       uint64 // frames cut at max_message_bytes (TCP)
	InvalidEncoding uint64 // bytes of invalid UTF-8 in messages and members, replaced with U+FFFD
	DroppedTooLarge uint64 // UDP datagrams over max_message_bytes
	DroppedQueue    uint64 // UDP datagrams dropped while the queue was full
	DroppedPartial  uint64 // unfinished frames at the end of a connection (closed, or framing broken)
	DroppedShutdown uint64 // messages read and not queued when the pipeline stopped taking them at a stop
	RejectedTooMany uint64 // connections closed at accept: max_connections were open
	RejectedTLS     uint64 // TLS handshakes that failed or timed out (mutual TLS refusals included)
	Connections     int64  // TCP/TLS connections open now
}

type counters struct {
	events, bytes, malformed, truncated, invalid                atomic.Uint64
	droppedTooLarge, droppedQueue, droppedPart, droppedShutdown atomic.Uint64
	rejectedTooMany, rejectedTLS                                atomic.Uint64
	connections                                                 atomic.Int64
}

// Bounds of a connection's life.
const (
	tlsHandshakeTimeout = 10 * time.Second
	shutdownGrace       = 2 * time.Second
)

// New builds the source of cfg (defaulted and validated). It does not listen yet: Run does.
func New(cfg Config, log zerolog.Logger) (*Source, error) {
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return nil, fmt.Errorf("timezone: %w", err)
	}
	s := &Source{
		cfg:              cfg,
		log:              log.With().Str("component", "syslog").Str("input", cfg.Name).Logger(),
		input:            &engine.Input{Name: cfg.Name, Type: InputType},
		loc:              loc,
		now:              time.Now,
		handshakeTimeout: tlsHandshakeTimeout,
		shutdownGrace:    shutdownGrace,
	}
	if cfg.Protocol == ProtocolTLS {
		if s.tls, err = cfg.TLS.ServerConfig(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// String names the source in errors: "syslog_sources NAME".
func (s *Source) String() string { return "syslog_sources " + s.cfg.Name }

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
		Truncated: c.truncated.Load(), InvalidEncoding: c.invalid.Load(), DroppedTooLarge: c.droppedTooLarge.Load(),
		DroppedQueue: c.droppedQueue.Load(), DroppedPartial: c.droppedPart.Load(),
		DroppedShutdown: c.droppedShutdown.Load(), RejectedTooMany: c.rejectedTooMany.Load(),
		RejectedTLS: c.rejectedTLS.Load(), Connections: c.connections.Load()}
}

// warnEvery rate-limits each warning a sender can cause: a flood of bad frames or connections is one line a
// minute, not one each.
const warnEvery = time.Minute

// rateLimit lets one warning through per warnEvery.
type rateLimit struct{ last atomic.Int64 } // Unix nanoseconds of the last one let through

func (r *rateLimit) allow(now time.Time) bool {
	last := r.last.Load()
	return now.UnixNano()-last >= int64(warnEvery) && r.last.CompareAndSwap(last, now.UnixNano())
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
			return fmt.Errorf("listen on %s: %w", s.cfg.Address, err)
		}
		s.listening(pc.LocalAddr())
		return s.serveUDP(ctx, pc.(*net.UDPConn), pub)
	}
	ln, err := lc.Listen(ctx, network, s.cfg.Address)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Address, err)
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

// serveTCP accepts connections until ctx ends, each read by its own goroutine (max_connections at once: more
// are closed at accept); then it closes them all and waits for their goroutines.
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
		// Only this goroutine adds connections: the count cannot pass the bound between the check and the add.
		if s.stats.connections.Load() >= int64(s.cfg.MaxConnections) {
			// Counted and logged before the close, so a client that sees the close sees the count.
			s.stats.rejectedTooMany.Add(1)
			if s.warnTooMany.allow(time.Now()) {
				s.log.Warn().Str("peer", conn.RemoteAddr().String()).Int("max_connections", s.cfg.MaxConnections).
					Msg("connection refused: max_connections are open (logged once a minute per input)")
			}
			_ = conn.Close()
			continue
		}
		s.stats.connections.Add(1)
		wg.Go(func() {
			defer s.stats.connections.Add(-1)
			s.serveConn(ctx, conn, pub)
		})
	}
}

// publishContext is the context Publish calls use: it ends shutdownGrace after ctx, so that what a source read
// before the stop is still queued (the pipeline takes events until every source returned).
func (s *Source) publishContext(ctx context.Context) (context.Context, context.CancelFunc) {
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(s.shutdownGrace, cancel)
		context.AfterFunc(pctx, func() { t.Stop() })
	})
	return pctx, func() {
		stop()
		cancel()
	}
}
