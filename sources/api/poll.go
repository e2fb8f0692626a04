package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/eventfields"
	"github.com/flickerlog/flicker/internal/httpclient"
)

// poller polls one configured source. Run's goroutine for it owns the fields below the line; acknowledgements
// reach ck from the engine's goroutines.
type poller struct {
	src      *Source
	cfg      Config
	log      zerolog.Logger
	input    engine.Input
	extra    []byte // Stream.Extra: ,"api":{"endpoint":...}
	endpoint *url.URL
	shown    string // the endpoint without query, for logs and errors
	interval time.Duration
	limit    int // okta: the page size; a shorter page means caught up
	client   *http.Client
	tokens   *http.Client // the OAuth2 token endpoint's client: the request timeout as its Timeout
	auth     *authorizer
	budget   *limiter
	redact   *redactor
	secrets  linkSecrets
	parser   *parser
	pool     *bufferPool
	stats    counters
	ck       checkpoints

	// ---- owned by the run goroutine
	cur    Cursor // the position after the last page read: what the next request is built from
	recent *recentIDs
	stream *engine.Stream
	pos    int64 // the last event's position in stream
	events []engine.Event
	idBuf  []byte
	pg     page
}

func newPoller(s *Source, cfg Config, client *http.Client, budgets *limiters, pool *bufferPool) (*poller, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || u.Host == "" {
		return nil, errors.New("endpoint: not an absolute URL (was the config validated?)")
	}
	fieldsJSON, err := eventfields.Render(cfg.Fields, cfg.FieldsUnderRoot)
	if err != nil {
		return nil, err
	}
	shown := httpclient.Shown(u)
	quoted, err := json.Marshal(shown)
	if err != nil {
		return nil, fmt.Errorf("endpoint: %w", err)
	}
	p := &poller{
		src: s, cfg: cfg, endpoint: u, shown: shown, interval: cfg.Interval(), client: client,
		log:     s.log.With().Str("component", "api").Str("input", cfg.Name).Logger(),
		input:   engine.Input{Name: cfg.Name, Type: "api", FieldsJSON: fieldsJSON},
		extra:   append(append([]byte(`,"api":{"endpoint":`), quoted...), '}'),
		tokens:  &http.Client{Transport: client.Transport, CheckRedirect: client.CheckRedirect, Timeout: cfg.Timeout},
		auth:    newAuthorizer(cfg.Auth),
		budget:  budgets.get(shown),
		redact:  newRedactor(&cfg),
		secrets: newLinkSecrets(&cfg),
		parser:  newParser(&cfg),
		pool:    pool,
	}
	if p.interval <= 0 {
		return nil, errors.New("polling interval: must be positive (was the config defaulted?)")
	}
	if cfg.Type == TypeOkta {
		p.limit = cfg.pageLimit()
	}
	p.ck = checkpoints{input: cfg.Name, reg: s.reg, pool: pool, saved: func() { p.stats.checkpoints.Add(1) }}
	return p, nil
}

// load reads the source's cursor and decides where the first request starts.
func (p *poller) load() error {
	c, ok, err := p.src.reg.Load(p.cfg.Name)
	if err != nil {
		return fmt.Errorf("load cursor of api source %q: %w", p.cfg.Name, err)
	}
	start := p.src.opts.Now().Add(-p.cfg.InitialLookback)
	sum := p.src.reg.ParamsSum(p.cfg.Params)
	if !ok {
		p.cur = Cursor{LastTime: start}
		p.recent = newRecentIDs(nil)
		p.log.Info().Str("endpoint", p.shown).Time("since", start).Msg("api source starts: no saved cursor")
	} else {
		p.cur = c
		p.recent = newRecentIDs(c.RecentIDs)
		if p.cur.LastTime.IsZero() {
			p.cur.LastTime = start
		}
		p.resume(c, sum)
	}
	p.cur.Endpoint, p.cur.ParamsSum = p.cfg.Endpoint, sum
	return nil
}

// resume checks a saved cursor against the configuration (sum is the params' sum): a next link embeds the
// endpoint and params it was made with, so when they changed the walk starts again from the last item time with
// the new ones.
func (p *poller) resume(c Cursor, sum string) {
	endpointChanged := c.Endpoint != "" && c.Endpoint != p.cfg.Endpoint
	paramsChanged := c.Endpoint != "" && c.ParamsSum != sum
	if endpointChanged || paramsChanged {
		ev := p.log.Info().Bool("endpoint_changed", endpointChanged).Bool("params_changed", paramsChanged).
			Str("endpoint", p.shown).Time("since", p.cur.LastTime)
		if endpointChanged {
			if old, err := url.Parse(c.Endpoint); err == nil {
				ev = ev.Str("previous_endpoint", httpclient.Shown(old))
			}
		}
		ev.Msg("api source configuration changed: resuming from the last event time with the new request")
		p.cur.Next = ""
		return
	}
	if c.Next != "" && p.cfg.Pagination != PaginationBodyCursor {
		next, err := url.Parse(c.Next)
		if err != nil || !httpclient.SameOrigin(next, p.endpoint) {
			p.log.Warn().Str("endpoint", p.shown).Time("since", p.cur.LastTime).
				Msg("saved next link is not on the endpoint's host: resuming from the last event time")
			p.cur.Next = ""
			return
		}
		if _, ok := p.secrets.fill(c.Next); !ok {
			p.log.Warn().Str("endpoint", p.shown).Time("since", p.cur.LastTime).
				Msg("saved next link needs a secret the configuration no longer has: resuming from the last event time")
			p.cur.Next = ""
			return
		}
	}
	ev := p.log.Info().Str("endpoint", p.shown).Int("recent_ids", len(c.RecentIDs))
	if p.cur.Next != "" {
		ev.Msg("api source resumes from its saved cursor")
	} else {
		ev.Time("since", p.cur.LastTime).Msg("api source resumes from its last event time")
	}
}

// stepKind is what one poll step came to.
type stepKind int

const (
	stepPage        stepKind = iota // a page was read and published
	stepRateLimited                 // 429: the limiter holds the next request until the reset
	stepTransient                   // 5xx, 408, network: back off
	stepMalformed                   // a 2xx body that is not what the source expects: wait the interval
	stepAuth                        // 401/403: wait AuthRetry
	stepClient                      // another 4xx or a refused redirect: wait AuthRetry
	stepRestart                     // the saved cursor was refused: start from the last item time after the interval
	stepStopped                     // ctx ended
	stepFailed                      // the publisher failed
)

type step struct {
	kind stepKind
	full bool  // stepPage: more is waiting now
	err  error // what went wrong, for once mode and stepFailed
}

// run polls until ctx ends or, in once mode, until a page that is not full.
func (p *poller) run(ctx context.Context, pub engine.Publisher) error {
	p.stream = engine.NewStream(&p.input, p.ck.ack)
	p.stream.Extra = p.extra
	// Positions count from 0 in every run, but an item's id (the API's own, or a hash of its bytes) is the same
	// in every run: the engine follows each output's progress by id. The endpoint (without its query, which may
	// hold secrets) in the key keeps the ids of another API apart after a configuration change.
	p.stream.Key, p.stream.ByID = p.shown, true
	p.auth.start(ctx, p.tokens)
	once := p.src.opts.Once
	pages, failures := 0, 0
	for {
		st := p.poll(ctx, pub)
		var wait time.Duration
		switch st.kind {
		case stepStopped:
			return nil
		case stepFailed:
			return st.err
		case stepPage:
			if failures > 0 {
				p.log.Info().Int("failures", failures).Msg("api source recovered")
			}
			failures = 0
			if !st.full {
				if once {
					return nil
				}
				pages, wait = 0, pollWait(p.interval)
				break
			}
			if pages++; !once && pages >= p.cfg.MaxPagesPerPoll {
				pages, wait = 0, pollWait(p.interval)
			}
		case stepRateLimited:
		case stepRestart:
			wait = p.interval
		case stepTransient, stepMalformed:
			failures++
			if once && failures >= onceMaxFailures {
				return fmt.Errorf("api source %q: %d consecutive failures, the last: %w", p.cfg.Name, failures, st.err)
			}
			wait = p.interval
			if st.kind == stepTransient {
				wait = backoff(p.src.opts.BackoffInitial, p.src.opts.BackoffMax, failures)
			}
		case stepAuth, stepClient:
			if once {
				return fmt.Errorf("api source %q: %w", p.cfg.Name, st.err)
			}
			failures++
			wait = p.src.opts.AuthRetry
		}
		if !sleep(ctx, wait) {
			return nil
		}
	}
}

// pollWait is the wait before the next poll: the interval plus up to a tenth more, so that replicas started
// together (a rollout) do not poll in step. Never less than the interval: the configured frequency is a ceiling.
func pollWait(interval time.Duration) time.Duration {
	return interval + rand.N(interval/10+1)
}

// sleep waits d, or less when ctx ends first; it reports whether ctx is still alive.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// publish turns the page's items into events (skipping the recently delivered ones), publishes them and
// registers the checkpoint after them. buf is the body the items lie in; it is recycled once they are done.
func (p *poller) publish(ctx context.Context, pub engine.Publisher, next string, buf []byte) step {
	readTime := p.src.opts.Now()
	items := p.pg.items
	p.idBuf = p.idBuf[:0]
	for i := range items {
		p.idBuf = append(p.idBuf, items[i].id...)
	}
	// One string for the page's ids: the recent set and RecentIDs hold substrings of it.
	blob := string(p.idBuf)
	off := 0
	lastTime := p.cur.LastTime
	p.events = p.events[:0]
	for i := range items {
		it := &items[i]
		id := it.id
		var key string
		if id == nil {
			id = hashID(p.cfg.Name, it.raw)
			key = string(id)
			p.stats.missingIDs.Add(1)
		} else {
			key = blob[off : off+len(id)]
			off += len(id)
		}
		if p.recent.has(key) {
			p.stats.duplicates.Add(1)
			continue
		}
		p.recent.add(key)
		t := readTime
		switch {
		case it.timeOK:
			t = it.time
			if t.After(lastTime) {
				lastTime = t
			}
		case p.cfg.TimePath != "":
			p.stats.invalidTimes.Add(1)
		}
		p.pos++
		p.events = append(p.events, engine.Event{Time: t, Message: it.raw, Stream: p.stream, Offset: -1,
			Pos: p.pos, ID: id})
	}
	after := Cursor{Next: next, LastTime: lastTime, RecentIDs: p.cur.RecentIDs, Endpoint: p.cfg.Endpoint,
		ParamsSum: p.cur.ParamsSum}
	if len(p.events) == 0 {
		p.pool.put(buf)
		if after.Next != p.cur.Next || !after.LastTime.Equal(p.cur.LastTime) {
			p.ck.advance(after)
		}
		p.cur = after
		return step{kind: stepPage}
	}
	after.RecentIDs = p.recent.snapshot()
	p.ck.add(checkpoint{pos: p.pos, events: int64(len(p.events)), cursor: after, before: p.cur, buf: buf})
	if err := pub.Publish(ctx, p.events); err != nil {
		p.ck.drop(p.pos)
		if ctx.Err() != nil {
			return step{kind: stepStopped}
		}
		return step{kind: stepFailed, err: fmt.Errorf("api source %q: publish: %w", p.cfg.Name, err)}
	}
	p.stats.events.Add(uint64(len(p.events)))
	p.cur = after
	return step{kind: stepPage}
}
