// Package telemetry serves flicker's optional HTTP listener: /metrics in the Prometheus text format, /healthz
// (the pipeline is not wedged: see liveness) and /readyz (the pipeline runs). Metrics are read from the
// components' counters at scrape time; nothing is added to the event path.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
)

const (
	// readHeaderTimeout bounds how long a client may take to send its request headers.
	readHeaderTimeout = 10 * time.Second
	// stopGrace bounds how long in-flight requests may finish when the Start context ends.
	stopGrace = 5 * time.Second
)

// Options configure a Server. The funcs are called on each scrape, possibly concurrently, and must be safe
// for that.
type Options struct {
	Addr     string              // host:port to listen on, e.g. ":9090" or "127.0.0.1:0"
	Pipeline func() engine.Stats // nil: no pipeline and output metrics
	Inputs   Sources             // nil: no input metrics
	// Registry returns the committed registry state; ok false omits the registry metrics. Nil without a
	// registry.
	Registry func() (seq uint64, updated time.Time, ok bool)
	// Snapshot returns the S3 replication state; ok false (or a nil func) omits the snapshot metrics.
	Snapshot func() (stats SnapshotStats, ok bool)
	// Processors returns the error counts of every processor of every input's chain; nil: none.
	Processors func() []ProcessorStats
	// S3Requests returns the requests sent to S3 for the registry so far (flicker_s3_requests_total); nil
	// without an S3 registry.
	S3Requests func() []S3RequestCount
	// Stall is how long the pipeline may hold events without any progress before /healthz answers 503 (see
	// liveness); 0 keeps /healthz at 200 while the process answers.
	Stall  time.Duration
	Logger zerolog.Logger
}

// Server is the HTTP listener. Its zero value is not usable; call New.
type Server struct {
	addr  string
	log   zerolog.Logger
	srv   *http.Server
	ready atomic.Bool

	mu      sync.Mutex
	ln      net.Listener // set by Start
	stopped bool         // Shutdown was called
	wg      sync.WaitGroup
}

// New validates opts and builds the handlers on a registry of its own. It does not listen yet.
func New(opts Options) (*Server, error) {
	if _, _, err := net.SplitHostPort(opts.Addr); err != nil {
		return nil, fmt.Errorf("http addr %q: %w (want host:port, e.g. :9090)", opts.Addr, err)
	}
	s := &Server{addr: opts.Addr, log: opts.Logger.With().Str("component", "telemetry").Logger()}
	reg := prometheus.NewRegistry()
	err := reg.Register(collector{pipeline: opts.Pipeline, inputs: opts.Inputs, registry: opts.Registry,
		snapshot: opts.Snapshot, procs: opts.Processors, s3Requests: opts.S3Requests})
	if err == nil {
		err = reg.Register(collectors.NewGoCollector())
	}
	if err == nil {
		err = reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	errLog := log.New(warnWriter{s.log}, "", 0)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: errLog, ErrorHandling: promhttp.ContinueOnError,
	}))
	live := &liveness{stats: opts.Pipeline, bound: opts.Stall, now: time.Now}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if d, wedged, first := live.stalled(); wedged {
			if first {
				s.log.Error().Dur("stalled", d).Dur("bound", opts.Stall).
					Msg("pipeline wedged: events queued and nothing moving; /healthz answers 503")
			}
			http.Error(w, fmt.Sprintf("wedged: events queued and no progress for %s", d.Round(time.Millisecond)),
				http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout, ErrorLog: errLog}
	return s, nil
}

// Start listens on the address and serves in a goroutine of the Server until ctx ends or Shutdown is called.
// It fails if the address cannot be bound or Start was called before.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil || s.stopped {
		return errors.New("telemetry server already started or shut down")
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("http listener: %w", err)
	}
	s.ln = ln
	served := make(chan struct{})
	s.wg.Go(func() {
		defer close(served)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.log.Error().Err(err).Msg("http listener stopped")
		}
	})
	s.wg.Go(func() {
		select {
		case <-ctx.Done():
			s.ready.Store(false)
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopGrace)
			defer cancel()
			if err := s.srv.Shutdown(sctx); err != nil {
				_ = s.srv.Close()
			}
		case <-served:
		}
	})
	s.log.Info().Str("addr", ln.Addr().String()).Msg("http listener started")
	return nil
}

// Addr returns the bound address once Start succeeded (with the real port when the configured one is 0), and
// the configured address before.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return s.ln.Addr().String()
	}
	return s.addr
}

// SetReady sets what /readyz answers: 200 when true, 503 when false (the initial state).
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// Shutdown stops listening, marks the server not ready, lets in-flight requests finish until ctx ends (then
// closes their connections) and waits for the serving goroutines. It may be called without Start, and again.
func (s *Server) Shutdown(ctx context.Context) error {
	s.ready.Store(false)
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
		err = fmt.Errorf("shut down http listener: %w", err)
	}
	s.wg.Wait()
	return err
}

// warnWriter logs the lines of net/http and promhttp error logs as warnings.
type warnWriter struct{ log zerolog.Logger }

func (w warnWriter) Write(p []byte) (int, error) {
	w.log.Warn().Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}
