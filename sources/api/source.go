package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
)

// Cursor is where one API source left off: what the registry keeps per source (store.CursorRecord).
type Cursor struct {
	// Next is the next request: the next-page URL (link_header, next_url) or the body cursor token
	// (body_cursor). Empty: the next request is the endpoint with params, and since_param at LastTime.
	Next string
	// LastTime is the latest item time delivered (or, before any, the start of the first request's window).
	LastTime time.Time
	// RecentIDs are the ids of the most recently delivered items (at most MaxRecentIDs, oldest first): items
	// with these ids are skipped when a page is read again.
	RecentIDs []string
	// Endpoint and ParamsSum (Registry.ParamsSum of the params) are the configuration Next was built from; when
	// they change, Next is dropped and the walk starts again from LastTime with the new ones. The params
	// themselves are not kept: they may hold keys, and the registry travels further than the config.
	Endpoint  string
	ParamsSum string
}

// Registry is where the source keeps its cursors; cmd/flicker adapts the store package to it.
type Registry interface {
	// Load returns the cursor saved for input; false when there is none. The source calls it once per input, at
	// the start of Run; an error ends Run.
	Load(input string) (Cursor, bool, error)
	// Save records c as input's cursor, replacing the previous one. The source calls it on acknowledgement, from
	// the engine's output goroutines (also after Run returned, while the pipeline drains), and from Run for a
	// position reached without events. It must not block; c is never modified afterwards.
	Save(input string, c Cursor)
	// ParamsSum returns a keyed hash of params that does not reveal them: equal params give equal sums in this
	// registry. The source calls it once per input, at the start of Run, and compares the result with the
	// saved cursor's.
	ParamsSum(params map[string]string) string
}

// Options are run-time choices that are not part of the configuration.
type Options struct {
	// Once makes each source poll until a page that is not full (it has caught up), then Run returns nil once
	// every source has. A 401/403 or another 4xx ends Run with an error instead of waiting for a fix, and so do
	// onceMaxFailures consecutive other failures.
	Once bool
	// Now is the clock for event times of items without one and for the first start's window; nil: time.Now.
	Now func() time.Time
	// HTTPClient makes the requests (tests); nil: a client of the source's own with redirects kept on the
	// endpoint's host. Per-request timeouts come from the config either way.
	HTTPClient *http.Client
	// AuthRetry is the wait after a 401/403 or another 4xx (credentials and requests get fixed by people);
	// zero means DefaultAuthRetry.
	AuthRetry time.Duration
	// BackoffInitial and BackoffMax bound the capped exponential backoff after 5xx answers and network errors;
	// zero means DefaultBackoffInitial and DefaultBackoffMax.
	BackoffInitial, BackoffMax time.Duration
}

// Defaults of Options.
const (
	DefaultAuthRetry      = time.Minute
	DefaultBackoffInitial = time.Second
	DefaultBackoffMax     = time.Minute
)

// onceMaxFailures is how many consecutive failed requests (5xx, network, malformed bodies) once mode tolerates.
const onceMaxFailures = 5

// Stats are counters since New, summed over the sources or of one source.
type Stats struct {
	Requests   uint64 // requests sent
	Pages      uint64 // 2xx answers parsed into items
	EmptyPages uint64 // of which without items
	Events     uint64 // events published
	Duplicates uint64 // items skipped: their id was among the recently delivered ones
	// RateLimitWaits counts 429 answers (each waited out until the reset); RateLimitSlowdowns counts requests
	// delayed to spread the remaining budget until the reset, or held until an exhausted budget resets.
	RateLimitWaits, RateLimitSlowdowns uint64
	ServerErrors                       uint64 // 5xx and 408 answers
	NetworkErrors                      uint64 // connection failures, timeouts, cut bodies
	AuthErrors                         uint64 // 401 and 403 answers, refused OAuth2 client credentials
	ClientErrors                       uint64 // other non-2xx answers (400, 404, unfollowed redirects)
	MalformedBodies                    uint64 // 2xx bodies that are not what the source expects
	MissingIDs                         uint64 // items without an id at id_path: their id is a hash of the item
	InvalidTimes                       uint64 // items without a valid time at time_path: their time is the read time
	Checkpoints                        uint64 // cursors handed to the registry
}

type counters struct {
	requests, pages, emptyPages, events, duplicates, rateWaits, rateSlowdowns, serverErrors, networkErrors,
	authErrors, clientErrors, malformed, missingIDs, invalidTimes, checkpoints atomic.Uint64
}

func (c *counters) stats() Stats {
	return Stats{Requests: c.requests.Load(), Pages: c.pages.Load(), EmptyPages: c.emptyPages.Load(),
		Events: c.events.Load(), Duplicates: c.duplicates.Load(), RateLimitWaits: c.rateWaits.Load(),
		RateLimitSlowdowns: c.rateSlowdowns.Load(), ServerErrors: c.serverErrors.Load(),
		NetworkErrors: c.networkErrors.Load(), AuthErrors: c.authErrors.Load(),
		ClientErrors: c.clientErrors.Load(), MalformedBodies: c.malformed.Load(),
		MissingIDs: c.missingIDs.Load(), InvalidTimes: c.invalidTimes.Load(), Checkpoints: c.checkpoints.Load()}
}

func (s *Stats) add(o Stats) {
	s.Requests += o.Requests
	s.Pages += o.Pages
	s.EmptyPages += o.EmptyPages
	s.Events += o.Events
	s.Duplicates += o.Duplicates
	s.RateLimitWaits += o.RateLimitWaits
	s.RateLimitSlowdowns += o.RateLimitSlowdowns
	s.ServerErrors += o.ServerErrors
	s.NetworkErrors += o.NetworkErrors
	s.AuthErrors += o.AuthErrors
	s.ClientErrors += o.ClientErrors
	s.MalformedBodies += o.MalformedBodies
	s.MissingIDs += o.MissingIDs
	s.InvalidTimes += o.InvalidTimes
	s.Checkpoints += o.Checkpoints
}

// Source polls the configured API sources: one goroutine per source, started by Run.
type Source struct {
	pollers []*poller
	reg     Registry
	opts    Options
	log     zerolog.Logger
	// transport is the source's own (nil with Options.HTTPClient); its idle connections are closed when Run ends.
	transport *http.Transport
	ran       atomic.Bool
}

// New returns the source of cfgs, which must have been defaulted and validated, with unique names.
func New(cfgs []Config, reg Registry, opts Options, log zerolog.Logger) (*Source, error) {
	if reg == nil {
		return nil, errors.New("api sources: no registry")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AuthRetry <= 0 {
		opts.AuthRetry = DefaultAuthRetry
	}
	if opts.BackoffInitial <= 0 {
		opts.BackoffInitial = DefaultBackoffInitial
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = DefaultBackoffMax
	}
	opts.BackoffMax = max(opts.BackoffMax, opts.BackoffInitial)
	s := &Source{reg: reg, opts: opts, log: log}
	client := opts.HTTPClient
	if client == nil {
		s.transport = http.DefaultTransport.(*http.Transport).Clone()
		client = &http.Client{Transport: s.transport, CheckRedirect: checkRedirect}
	}
	var (
		budgets limiters
		pool    bufferPool
	)
	seen := make(map[string]bool, len(cfgs))
	for i := range cfgs {
		cfg := cfgs[i]
		if seen[cfg.Name] {
			return nil, fmt.Errorf("api source %q: configured twice: names must be unique", cfg.Name)
		}
		seen[cfg.Name] = true
		p, err := newPoller(s, cfg, client, &budgets, &pool)
		if err != nil {
			return nil, fmt.Errorf("api source %q: %w", cfg.Name, err)
		}
		s.pollers = append(s.pollers, p)
	}
	return s, nil
}

// Inputs returns the engine inputs of the sources, in configuration order.
func (s *Source) Inputs() []*engine.Input {
	out := make([]*engine.Input, len(s.pollers))
	for i, p := range s.pollers {
		out[i] = &p.input
	}
	return out
}

// Stats returns the counters summed over the sources.
func (s *Source) Stats() Stats {
	var st Stats
	for _, p := range s.pollers {
		st.add(p.stats.stats())
	}
	return st
}

// InputStats returns the counters of the source named input.
func (s *Source) InputStats(input string) (Stats, bool) {
	for _, p := range s.pollers {
		if p.cfg.Name == input {
			return p.stats.stats(), true
		}
	}
	return Stats{}, false
}

// Run loads every source's cursor, then polls each in its own goroutine until ctx ends (it returns nil) or,
// in once mode, until each has caught up. It returns an error when a cursor cannot be loaded, the publisher
// fails for another reason than ctx, or, in once mode, a source cannot get its pages. A second call returns an
// error: each run needs a new Source.
func (s *Source) Run(ctx context.Context, pub engine.Publisher) error {
	if !s.ran.CompareAndSwap(false, true) {
		return errors.New("api sources: Run called twice")
	}
	if s.transport != nil {
		defer s.transport.CloseIdleConnections()
	}
	for _, p := range s.pollers {
		if err := p.load(); err != nil {
			return err
		}
	}
	errs := make([]error, len(s.pollers))
	var wg sync.WaitGroup
	for i, p := range s.pollers {
		wg.Go(func() { errs[i] = p.run(ctx, pub) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
