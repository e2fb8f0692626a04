package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/jsonscan"
)

// MaxBodyBytes bounds one response body. A larger page is refused (counted as malformed): lower the page size
// (Okta: params.limit).
const MaxBodyBytes = 64 << 20

// maxErrorBody is how much of a non-2xx body is read: enough to log, and to reuse the connection.
const maxErrorBody = 64 << 10

// userAgent identifies flicker to the APIs.
const userAgent = "flicker"

var errBodyTooLarge = fmt.Errorf("response body over %d bytes: lower the page size", MaxBodyBytes)

// newRequest builds the next request from the cursor: the saved next link, the endpoint with the body cursor,
// or the endpoint with since_param at the last item time.
func (p *poller) newRequest(ctx context.Context) (*http.Request, error) {
	var target string
	if p.cur.Next != "" && p.cfg.Pagination != PaginationBodyCursor {
		target, _ = p.secrets.fill(p.cur.Next) // resume dropped a link it cannot fill
	} else {
		q := make(url.Values, len(p.cfg.Params)+1)
		for k, v := range p.cfg.Params {
			q.Set(k, v)
		}
		switch {
		case p.cur.Next != "":
			q.Set(p.cfg.CursorParam, p.cur.Next)
		case p.cfg.SinceParam != "":
			q.Set(p.cfg.SinceParam, formatSince(p.cur.LastTime, p.cfg.SinceFormat))
		}
		u := *p.endpoint
		u.RawQuery = q.Encode()
		target = u.String()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("request to %s: %w", p.shown, stripURL(err))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	for k, v := range p.cfg.Headers {
		req.Header.Set(k, v)
	}
	return req, nil
}

// poll makes one request (after the rate budget allows it) and publishes the page it gets.
func (p *poller) poll(ctx context.Context, pub engine.Publisher) step {
	if wait, _ := p.budget.reserve(time.Now()); wait > 0 {
		p.stats.rateSlowdowns.Add(1)
		for wait > 0 {
			p.log.Debug().Dur("wait", wait).Msg("pacing requests to the rate budget")
			if !sleep(ctx, wait) {
				return step{kind: stepStopped}
			}
			wait, _ = p.budget.reserve(time.Now())
		}
	}
	rctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	req, err := p.newRequest(rctx)
	if err != nil {
		p.stats.clientErrors.Add(1)
		p.log.Error().Str("endpoint", p.shown).Str("error", p.redact.err(err)).Msg("cannot build the request")
		return step{kind: stepClient, err: err}
	}
	if err := p.auth.authorize(req); err != nil {
		return p.requestFailed(ctx, err)
	}
	p.redact.sent(req.Header.Get("Authorization"))
	p.stats.requests.Add(1)
	resp, err := p.client.Do(req)
	if err != nil {
		return p.requestFailed(ctx, err)
	}
	defer resp.Body.Close()
	now := time.Now()
	p.budget.observe(resp.Header, now)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := readBody(resp, make([]byte, 0, 1024), maxErrorBody)
		return p.refused(resp, body, now)
	}
	buf, err := readBody(resp, p.pool.get(int(min(max(resp.ContentLength, 0), MaxBodyBytes))), MaxBodyBytes)
	if errors.Is(err, errBodyTooLarge) {
		p.stats.malformed.Add(1)
		p.log.Warn().Str("endpoint", p.shown).Int("status", resp.StatusCode).Err(err).
			Msg("response refused, the cursor stays")
		return step{kind: stepMalformed, err: err}
	}
	if err != nil {
		p.pool.put(buf)
		return p.requestFailed(ctx, fmt.Errorf("read body: %w", err))
	}
	if err := p.parser.parse(buf, &p.pg); err != nil {
		p.stats.malformed.Add(1)
		p.log.Warn().Str("endpoint", p.shown).Int("status", resp.StatusCode).Str("error", err.Error()).
			Str("body", p.redact.body(buf)).Msg("response body is not what the source expects: the cursor stays, " +
			"retrying after the polling interval")
		p.pool.put(buf)
		return step{kind: stepMalformed, err: fmt.Errorf("status %d: %w", resp.StatusCode, err)}
	}
	next, full, err := p.nextOf(req.URL, resp.Header)
	if err != nil {
		p.stats.malformed.Add(1)
		p.log.Warn().Str("endpoint", p.shown).Str("error", err.Error()).Msg("the cursor stays")
		p.pool.put(buf)
		return step{kind: stepMalformed, err: err}
	}
	p.stats.pages.Add(1)
	if len(p.pg.items) == 0 {
		p.stats.emptyPages.Add(1)
	}
	st := p.publish(ctx, pub, next, buf)
	st.full = full
	return st
}

// nextOf finds where the walk goes after the page just parsed: the next request (a URL, its secret values
// replaced by placeholders as the registry keeps it, or a body cursor) and whether more is waiting now. Without a next page, the next poll requests the same page again: re-reading one
// page is bounded and deduplicated, while starting from the last item time would re-read every item of that
// time.
func (p *poller) nextOf(reqURL *url.URL, h http.Header) (next string, full bool, err error) {
	n := len(p.pg.items)
	switch p.cfg.Pagination {
	case PaginationLinkHeader:
		if ref := nextLink(h); ref != "" {
			if next, err = resolveNext(reqURL, p.endpoint, ref); err != nil {
				return "", false, err
			}
			next = p.secrets.strip(next)
		}
	case PaginationNextURL:
		if s, ok := jsonscan.StringValue(p.pg.nextURL); ok && len(s) > 0 {
			if next, err = resolveNext(reqURL, p.endpoint, string(s)); err != nil {
				return "", false, err
			}
			next = p.secrets.strip(next)
		}
	case PaginationBodyCursor:
		if s, ok := jsonscan.StringValue(p.pg.cursor); ok && len(s) > 0 {
			next = string(s)
		}
	}
	switch {
	case next == "" || n == 0:
	case p.cfg.Type == TypeOkta:
		// Okta's polling next link is always there: only a full page says more is waiting.
		full = n >= p.limit
	case p.cfg.HasMorePath != "":
		full = string(p.pg.hasMore) == "true"
	default:
		full = true
	}
	if next != "" && next == p.cur.Next {
		// A next link or cursor that does not move (a page pointing at itself): nothing more is waiting now.
		full = false
	}
	if next == "" {
		// The end for now: request this page again at the next poll (its known items are skipped), or start
		// from the last item time again when the walk had no cursor yet.
		next = p.cur.Next
	}
	return next, full, nil
}

// readBody reads resp's body into buf, up to limit bytes (errBodyTooLarge beyond). A buffer sized to the
// Content-Length is filled without growing.
func readBody(resp *http.Response, buf []byte, limit int) ([]byte, error) {
	if resp.ContentLength > int64(limit) {
		return buf, errBodyTooLarge
	}
	for {
		if len(buf) == cap(buf) || len(buf) >= limit {
			// Full: probe for the end before growing.
			var one [1]byte
			n, err := io.ReadFull(resp.Body, one[:])
			if n == 0 {
				if err == io.EOF {
					return buf, nil
				}
				return buf, err
			}
			if len(buf) >= limit {
				return buf, errBodyTooLarge
			}
			buf = append(buf, one[0])
		}
		n, err := resp.Body.Read(buf[len(buf):min(cap(buf), limit)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// requestFailed classifies a request that got no response (or no whole body).
func (p *poller) requestFailed(ctx context.Context, err error) step {
	switch {
	case ctx.Err() != nil:
		return step{kind: stepStopped}
	case errors.Is(err, errTokenEndpoint):
		p.stats.authErrors.Add(1)
		p.log.Error().Str("endpoint", p.shown).Str("error", p.redact.err(err)).Dur("retry_in", p.src.opts.AuthRetry).
			Msg("api source cannot authenticate: check auth.oauth2")
		return step{kind: stepAuth, err: errors.New(p.redact.err(err))}
	case errors.Is(err, errOtherOrigin):
		p.stats.clientErrors.Add(1)
		p.log.Error().Str("endpoint", p.shown).Str("error", p.redact.err(err)).Dur("retry_in", p.src.opts.AuthRetry).
			Msg("api source request refused")
		return step{kind: stepClient, err: errors.New(p.redact.err(err))}
	}
	msg := p.redact.err(err)
	if errors.Is(err, context.DeadlineExceeded) {
		msg = fmt.Sprintf("no complete answer within the timeout (%s)", p.cfg.Timeout)
	}
	p.stats.networkErrors.Add(1)
	p.log.Warn().Str("endpoint", p.shown).Str("error", msg).Msg("api request failed: backing off")
	return step{kind: stepTransient, err: fmt.Errorf("request to %s: %s", p.shown, msg)}
}

// refused handles a non-2xx answer.
func (p *poller) refused(resp *http.Response, body []byte, now time.Time) step {
	code := resp.StatusCode
	err := fmt.Errorf("%s answered %d", p.shown, code)
	ev := func(e *zerolog.Event) *zerolog.Event {
		return e.Str("endpoint", p.shown).Int("status", code).Str("body", p.redact.body(body))
	}
	switch {
	case code == http.StatusTooManyRequests:
		p.stats.rateWaits.Add(1)
		until := p.budget.observe(resp.Header, now)
		if ra := retryAfter(resp.Header, now); ra.After(until) {
			until = ra
		}
		if !until.After(now) {
			// No usable reset: back off as after a failure, growing with the 429s in a row (once mode gives up
			// after a few), instead of hammering at the first backoff.
			ev(p.log.Warn()).Msg("rate limited (429) without Retry-After or a rate limit reset: backing off")
			return step{kind: stepTransient, err: err}
		}
		p.budget.holdUntil(until)
		ev(p.log.Warn()).Time("until", until).Msg("rate limited (429): waiting for the reset")
		return step{kind: stepRateLimited, err: err}
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		p.stats.authErrors.Add(1)
		p.auth.refused()
		ev(p.log.Error()).Dur("retry_in", p.src.opts.AuthRetry).
			Msg("api source not authorized: check its credentials (auth) and their permissions")
		return step{kind: stepAuth, err: err}
	case code == http.StatusRequestTimeout || code >= 500:
		p.stats.serverErrors.Add(1)
		if ra := retryAfter(resp.Header, now); !ra.IsZero() {
			p.budget.holdUntil(ra)
		}
		ev(p.log.Warn()).Msg("api server error: backing off")
		return step{kind: stepTransient, err: err}
	case p.cur.Next != "" && p.cfg.SinceParam != "" &&
		(code == http.StatusBadRequest || code == http.StatusNotFound || code == http.StatusGone):
		// A saved cursor can expire: start again from the last item time (the repeats are skipped by id).
		p.stats.clientErrors.Add(1)
		ev(p.log.Warn()).Time("since", p.cur.LastTime).
			Msg("the API refused the saved cursor: starting again from the last event time")
		p.cur.Next = ""
		return step{kind: stepRestart, err: err}
	default:
		p.stats.clientErrors.Add(1)
		ev(p.log.Error()).Dur("retry_in", p.src.opts.AuthRetry).
			Msg("api source request refused: check endpoint and params (flicker registry reset NAME starts over)")
		return step{kind: stepClient, err: err}
	}
}
