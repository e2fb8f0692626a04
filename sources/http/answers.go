package http

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/flickerlog/flicker/engine"
)

// refusePublish answers a request whose events the pipeline did not take.
func (l *listener) refusePublish(w http.ResponseWriter, r *http.Request, fam family, err error) {
	switch {
	case errors.Is(err, engine.ErrExceedsQueue):
		l.refuse(w, fam, http.StatusRequestEntityTooLarge, errExceedsQueue)
	case errors.Is(err, engine.ErrPaused):
		if l.paused.CompareAndSwap(false, true) {
			l.log.Warn().Msg("refusing requests with 503: this instance's lease is unconfirmed (see the lease's log)")
		}
		l.stats.reject(RejectPaused)
		w.Header().Set("Retry-After", "5")
		l.refuse(w, fam, http.StatusServiceUnavailable, errPaused)
	case errors.Is(err, engine.ErrStopped):
		l.stats.reject(RejectStopping)
		w.Header().Set("Retry-After", "1")
		l.refuse(w, fam, http.StatusServiceUnavailable, errStopping)
	case r.Context().Err() != nil:
		l.stats.reject(RejectClientGone)
	default:
		l.tooMany(w, fam, errQueueFull)
	}
}

// tooMany answers 429 with Retry-After.
func (l *listener) tooMany(w http.ResponseWriter, fam family, err error) {
	l.stats.reject(RejectQueueFull)
	w.Header().Set("Retry-After", "1")
	l.refuse(w, fam, http.StatusTooManyRequests, err)
}

// refuseRead answers a request whose body could not be read whole.
func (l *listener) refuseRead(w http.ResponseWriter, r *http.Request, fam family, status int, err error) {
	switch {
	case status == http.StatusTooManyRequests:
		l.tooMany(w, fam, err)
	case r.Context().Err() != nil:
		l.stats.reject(RejectClientGone)
	case status == http.StatusBadRequest: // a cut body, corrupt compression
		l.stats.reject(RejectReadError)
		l.refuse(w, fam, status, err)
	default:
		l.refuse(w, fam, status, err)
	}
}

// ackRetryAfter is the Retry-After of a 503 after ack_timeout, in seconds: the outputs are slow or down.
const ackRetryAfter = 5

// queueWait is how long a request whose events do not fit in the queue waits in line for room before its 429.
const queueWait = time.Second

var (
	errQueueFull    = errors.New("the queue is full: retry after Retry-After")
	errAckTimeout   = errors.New("the outputs did not take the events within ack_timeout: they stay queued; retry after Retry-After")
	errStopping     = errors.New("flicker is stopping: retry after Retry-After")
	errPaused       = errors.New("lease unconfirmed: this instance takes no events until its lease is confirmed; retry after Retry-After")
	errExceedsQueue = errors.New("the request has more events or bytes than the whole queue holds (queue.max_events, queue.max_bytes): split the request")
)

// answer writes the answer of a request whose events every output is done with: 200 when each took them; when
// an output rejected some without a dead letter to take them (p.ndropped; p.mu held), a _bulk request gets the
// error in those events' items, the other endpoints 400 with the first reason (the other events were delivered).
func (l *listener) answer(w http.ResponseWriter, b *batch, p *pending, fam family, k kind, started time.Time) {
	var dropped error
	if p != nil && p.ndropped > 0 {
		for _, err := range p.dropped {
			if err != nil {
				dropped = fmt.Errorf("%d of the request's %d events were rejected by an output without a dead letter "+
					"(the others were delivered): %w", p.ndropped, len(b.events), err)
				break
			}
		}
	}
	switch {
	case k == kindBulk:
		if dropped != nil {
			b.markRejected(p.dropped)
		}
		setESHeaders(w)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b.appendBulkResponse(nil, time.Since(started).Milliseconds()))
	case dropped != nil:
		l.refuse(w, fam, http.StatusBadRequest, dropped)
	case fam == famHEC:
		writeHEC(w, &hecSuccess)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(strconv.AppendInt(append([]byte(nil), `{"events":`...), int64(len(b.events)), 10))
		_, _ = w.Write([]byte("}\n"))
	}
}

// refuse writes an error answer in the family's form and counts 413 and 415 (the callers count the others).
func (l *listener) refuse(w http.ResponseWriter, fam family, status int, err error) {
	switch status {
	case http.StatusRequestEntityTooLarge:
		l.stats.reject(RejectTooLarge)
	case http.StatusUnsupportedMediaType:
		l.stats.reject(RejectUnsupported)
	}
	if l.refusalLog.Allow() {
		l.log.Debug().Int("status", status).Err(err).Msg("request refused")
	}
	switch fam {
	case famHEC:
		var he *hecError
		if !errors.As(err, &he) {
			e := hecBusy
			switch status {
			case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
				e = hecInvalidFormat
			}
			he = &e
		}
		e := *he
		e.status = status
		writeHEC(w, &e)
	case famES:
		typ := "parse_exception"
		switch status {
		case http.StatusRequestEntityTooLarge:
			typ = "content_too_long_exception"
		case http.StatusUnsupportedMediaType:
			typ = "illegal_argument_exception"
		case http.StatusTooManyRequests:
			typ = "es_rejected_execution_exception"
		case http.StatusServiceUnavailable:
			typ = "unavailable_shards_exception"
		}
		writeESError(w, status, typ, err.Error())
	default:
		writePlainError(w, status, err.Error())
	}
}

func (l *listener) notFound(w http.ResponseWriter, r *http.Request, fam family) {
	l.stats.reject(RejectUnsupported)
	switch fam {
	case famHEC:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"text":"The requested URL was not found on this server.","code":404}`))
	case famES:
		writeESError(w, http.StatusNotFound, "resource_not_found_exception", "no handler found for uri ["+r.URL.Path+"] and method ["+r.Method+"]")
	default:
		writePlainError(w, http.StatusNotFound, "no endpoint "+r.Method+" "+r.URL.Path+" on this source (formats: "+strings.Join(l.cfg.Formats, ", ")+")")
	}
}

func (l *listener) badMethod(w http.ResponseWriter, fam family) {
	l.stats.reject(RejectUnsupported)
	if fam == famES {
		writeESError(w, http.StatusMethodNotAllowed, "illegal_argument_exception", "method not allowed")
		return
	}
	writePlainError(w, http.StatusMethodNotAllowed, "method not allowed")
}

func writeHEC(w http.ResponseWriter, e *hecError) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(e.status)
	out := append([]byte(`{"text":"`), e.text...)
	out = append(append(out, `","code":`...), strconv.Itoa(e.code)...)
	if e.index >= 0 {
		out = append(append(out, `,"invalid-event-number":`...), strconv.Itoa(e.index)...)
	}
	_, _ = w.Write(append(out, "}\n"...))
}

func writePlainError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	out, _ := json.Marshal(struct {
		Error  string `json:"error"`
		Status int    `json:"status"`
	}{msg, status})
	_, _ = w.Write(append(out, '\n'))
}

// writeESError writes an error the way Elasticsearch does.
func writeESError(w http.ResponseWriter, status int, typ, reason string) {
	setESHeaders(w)
	w.WriteHeader(status)
	type cause struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	}
	out, _ := json.Marshal(struct {
		Error struct {
			RootCause []cause `json:"root_cause"`
			cause
		} `json:"error"`
		Status int `json:"status"`
	}{Error: struct {
		RootCause []cause `json:"root_cause"`
		cause
	}{[]cause{{typ, reason}}, cause{typ, reason}}, Status: status})
	_, _ = w.Write(out)
}
