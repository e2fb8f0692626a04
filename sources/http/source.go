package http

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
)

// Source receives events over HTTP on one listener per configured entry. It keeps no state: a request is
// answered 200 only once every output is done with its events, so an unanswered request is the sender's to send
// again, and flicker needs no registry for it.
type Source struct {
	listeners   []*listener
	log         zerolog.Logger
	stopTimeout time.Duration
	// abort is closed when the stop's budget is nearly spent: handlers still waiting answer 503.
	abort chan struct{}
}

// Options are run-time choices that are not part of the configuration.
type Options struct {
	// Listeners, when set, are used instead of listening on each entry's address (tests): the listener for
	// entry i is Listeners[i].
	Listeners []net.Listener
	// StopTimeout bounds a stop (flicker's --shutdown-timeout budget for the sources): requests still waiting
	// for their events when it is nearly spent are answered 503, then the connections are closed. Zero: the
	// longest ack_timeout plus the time to read a body.
	StopTimeout time.Duration
	// BodyTimeout is how long a whole request body may take to arrive; zero: DefaultBodyTimeout.
	BodyTimeout time.Duration
}

// New builds a source for the entries (defaulted and validated). Nothing listens before Run.
func New(cfgs []Config, opts Options, log zerolog.Logger) (*Source, error) {
	s := &Source{log: log.With().Str("component", "http_source").Logger(), stopTimeout: opts.StopTimeout,
		abort: make(chan struct{})}
	for i, c := range cfgs {
		l := &listener{
			abort:   s.abort,
			cfg:     c,
			input:   &engine.Input{Name: c.Name, Type: "http"},
			formats: formatSet(c.Formats),
			log:     s.log.With().Str("input", c.Name).Logger(),
		}
		l.bodyTimeout = cmp.Or(opts.BodyTimeout, DefaultBodyTimeout)
		l.inflight.max = inflightBudget(c.MaxBodyBytes)
		l.parsing.max = parsingBudget(c.MaxBodyBytes)
		if c.AuthToken != "" {
			sum := sha256.Sum256([]byte(c.AuthToken))
			l.token = sum[:]
		}
		if c.TLS != nil {
			cfg, err := c.TLS.ServerConfig()
			if err != nil {
				return nil, fmt.Errorf("http_sources %s: tls: %w", c.Name, err)
			}
			l.tls = cfg
		}
		if i < len(opts.Listeners) {
			l.ln = opts.Listeners[i]
		}
		s.listeners = append(s.listeners, l)
	}
	return s, nil
}

func (s *Source) String() string { return "http_sources" }

// SetStopTimeout sets Options.StopTimeout after New (flicker knows its shutdown budget once the inputs are
// built). Every entry's ack_timeout must be below it, or a stop would cut requests that could still be answered.
func (s *Source) SetStopTimeout(d time.Duration) error {
	for i, l := range s.listeners {
		if l.cfg.AckTimeout >= d {
			return fmt.Errorf("http_sources[%d].ack_timeout %s is not below the shutdown budget %s (--shutdown-timeout less "+
				"the time to close the outputs): lower ack_timeout or raise --shutdown-timeout", i, l.cfg.AckTimeout, d)
		}
	}
	s.stopTimeout = d
	return nil
}

// Inputs returns the engine inputs of the entries, in configuration order.
func (s *Source) Inputs() []*engine.Input {
	out := make([]*engine.Input, len(s.listeners))
	for i, l := range s.listeners {
		out[i] = l.input
	}
	return out
}

// Stats returns the counters of the entry named input; false when there is none.
func (s *Source) Stats(input string) (Stats, bool) {
	for _, l := range s.listeners {
		if l.input.Name == input {
			st := l.stats.snapshot()
			st.BodyBytesInFlight = l.inflight.used.Load()
			return st, true
		}
	}
	return Stats{}, false
}

// Run listens on every entry's address and serves until ctx ends. Then it stops accepting, lets the requests in
// flight finish (each waits at most its ack_timeout for its events, which the pipeline keeps delivering until
// every source returned; those still waiting when the stop's budget is nearly spent get 503), and returns once
// every handler returned. A listener that cannot be opened, or that stops serving, fails the run.
func (s *Source) Run(ctx context.Context, pub engine.Publisher) error {
	try, ok := pub.(engine.TryPublisher)
	if !ok {
		return errors.New("http_sources: the pipeline's publisher cannot queue a request whole (no engine.TryPublisher): " +
			"a decorator hides it")
	}
	var servers []*http.Server
	var served sync.WaitGroup
	serveErr := make(chan error, len(s.listeners))
	defer func() {
		served.Wait()
		for _, l := range s.listeners {
			l.handlers.Wait()
		}
	}()
	for _, l := range s.listeners {
		ln := l.ln
		if ln == nil {
			var err error
			if ln, err = net.Listen("tcp", l.cfg.Address); err != nil {
				s.shutdown(servers)
				return fmt.Errorf("http_sources %s: listen: %w", l.cfg.Name, err)
			}
		}
		if l.tls != nil {
			ln = tls.NewListener(ln, l.tls)
		}
		l.try = try
		srv := &http.Server{
			Handler:           l,
			ReadHeaderTimeout: readHeaderTimeout,
			ReadTimeout:       readTimeout,
			IdleTimeout:       idleTimeout,
			ConnState:         l.connState,
		}
		servers = append(servers, srv)
		l.log.Info().Str("address", ln.Addr().String()).Bool("tls", l.tls != nil).Msg("listening")
		served.Go(func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				serveErr <- fmt.Errorf("http_sources %s: serving stopped: %w", l.cfg.Name, err)
			}
		})
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	s.shutdown(servers)
	return err
}

// shutdown stops accepting and waits for the requests in flight, at most the stop's budget: each ends within its
// ack_timeout after its body was read; past three quarters of the budget those still waiting answer 503, and at
// its end the connections are closed.
func (s *Source) shutdown(servers []*http.Server) {
	budget := s.stopTimeout
	if budget <= 0 {
		for _, l := range s.listeners {
			budget = max(budget, l.cfg.AckTimeout)
		}
		budget += bodyReadGrace
	}
	aborting := time.AfterFunc(budget*3/4, func() { close(s.abort) })
	defer aborting.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(ctx); err != nil {
			s.log.Warn().Err(err).Msg("requests still in flight at the end of the stop: closing their connections")
			_ = srv.Close()
		}
	}
}

const (
	readHeaderTimeout = 10 * time.Second
	// readTimeout bounds the reading of a request's headers and the start of its body; then each read of the body
	// gets bodyIdleTimeout, so a sender that stalls frees its place in the budget within seconds.
	readTimeout = 30 * time.Second
	idleTimeout = 2 * time.Minute
	// bodyReadGrace is what a stop adds to ack_timeout for requests still sending their body.
	bodyReadGrace = 5 * time.Second
)

// listener serves one configured entry.
type listener struct {
	cfg         Config
	input       *engine.Input
	formats     formats
	token       []byte
	tls         *tls.Config
	ln          net.Listener
	log         zerolog.Logger
	stats       counters
	bodyTimeout time.Duration
	// inflight bounds the memory of the bodies being read and parsed, parsing that of their events.
	inflight inflight
	parsing  inflight
	try      engine.TryPublisher
	handlers sync.WaitGroup  // ServeHTTP calls running: Run returns after them
	abort    <-chan struct{} // Source.abort
	paused   atomic.Bool     // the last refusal was a lease pause (logged once per pause)
	// refusalLog rate-limits the debug line of a refused request.
	refusalLog everySecond
}

// everySecond allows one event per second.
type everySecond struct{ last atomic.Int64 }

func (e *everySecond) Allow() bool {
	now := time.Now().UnixNano()
	last := e.last.Load()
	return now-last >= int64(time.Second) && e.last.CompareAndSwap(last, now)
}

func (l *listener) connState(_ net.Conn, st http.ConnState) {
	switch st {
	case http.StateNew:
		l.stats.open.Add(1)
	case http.StateClosed, http.StateHijacked:
		l.stats.open.Add(-1)
	}
}

// formats is a set of Config formats.
type formats uint8

const (
	fmtNDJSON formats = 1 << iota
	fmtArray
	fmtBulk
	fmtHEC
)

func formatSet(names []string) formats {
	var f formats
	for _, n := range names {
		switch n {
		case FormatNDJSON:
			f |= fmtNDJSON
		case FormatJSONArray:
			f |= fmtArray
		case FormatBulk:
			f |= fmtBulk
		case FormatHEC:
			f |= fmtHEC
		}
	}
	return f
}

func (f formats) has(k formats) bool { return f&k != 0 }

// Stats are one entry's counters since New.
type Stats struct {
	Requests uint64 // requests received, every endpoint
	Events   uint64 // events published (queued whole; most answered 200, some 503 after ack_timeout)
	Bytes    uint64 // bytes of the bodies of those requests, decompressed
	// Rejected counts requests answered with an error, by reason: RejectAuth, RejectMalformed, ...
	Rejected map[string]uint64
	// TooManyRequests counts 429 answers (the queue was full); they are in Rejected under RejectQueueFull too.
	TooManyRequests uint64
	OpenConnections int64 // connections open now
	// BodyBytesInFlight is the memory reserved now for bodies being read and parsed and their zstd windows (at
	// most 4 max_body_bytes, or one body).
	BodyBytesInFlight int64
}

// Reasons of Stats.Rejected.
const (
	RejectAuth        = "auth"        // 401
	RejectMalformed   = "malformed"   // 400
	RejectTooLarge    = "too_large"   // 413
	RejectUnsupported = "unsupported" // 404, 405, 415: unknown endpoint, method or encoding
	RejectQueueFull   = "queue_full"  // 429
	RejectAckTimeout  = "ack_timeout" // 503: the outputs did not finish in time
	RejectStopping    = "stopping"    // 503: the pipeline stopped taking events
	RejectClientGone  = "client_gone" // the sender went away before the answer
	RejectReadError   = "read_error"  // the body could not be read (cut, corrupt compression)
	RejectPaused      = "paused"      // 503: the instance's lease is unconfirmed
	RejectOutput      = "output"      // an output rejected events without a dead letter (400, or in the _bulk items)
)

var rejectReasons = [...]string{RejectAuth, RejectMalformed, RejectTooLarge, RejectUnsupported, RejectQueueFull,
	RejectAckTimeout, RejectStopping, RejectClientGone, RejectReadError, RejectPaused, RejectOutput}

type counters struct {
	requests, events, bytes, tooMany atomic.Uint64
	rejected                         [len(rejectReasons)]atomic.Uint64 // by rejectReasons index
	open                             atomic.Int64
}

func (c *counters) reject(reason string) {
	for i, r := range rejectReasons {
		if r == reason {
			c.rejected[i].Add(1)
			if reason == RejectQueueFull {
				c.tooMany.Add(1)
			}
			return
		}
	}
}

func (c *counters) snapshot() Stats {
	s := Stats{Requests: c.requests.Load(), Events: c.events.Load(), Bytes: c.bytes.Load(),
		TooManyRequests: c.tooMany.Load(), OpenConnections: c.open.Load(), Rejected: map[string]uint64{}}
	for i, r := range rejectReasons {
		s.Rejected[r] = c.rejected[i].Load()
	}
	return s
}
