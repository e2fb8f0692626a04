package emulator

import (
	"net/http"
	"strconv"
	"time"
)

// Fault is a failure that Server.Inject makes the next requests answer. The zero Fault is none.
type Fault int

const (
	FaultServerError Fault = iota + 1 // Errors.ServerError
	FaultTruncated                    // 200 with the JSON body cut in the middle
	FaultNotArray                     // 200 with Config.NotArray
	FaultHTML                         // 502 with an HTML page, as from a proxy in front of the API
	FaultReset                        // the connection is closed in the middle of a 200 body
	FaultForbidden                    // Errors.Forbidden, as for a token without the scope to read logs
)

// answer is what a request gets, decided under the lock and written after the delay.
type answer struct {
	err   *Error
	fault Fault
	page  Page
}

func (s *Server[T]) serve(w http.ResponseWriter, r *http.Request) {
	a, rate, now, delay := s.decide(r)
	h := w.Header()
	if s.cfg.RateHeaders && s.cfg.RateLimit > 0 {
		h.Set("X-Rate-Limit-Limit", strconv.Itoa(s.cfg.RateLimit))
		h.Set("X-Rate-Limit-Remaining", strconv.Itoa(rate.remaining))
		h.Set("X-Rate-Limit-Reset", strconv.FormatInt(rate.end.Unix(), 10))
	}
	if !rate.allowed && s.cfg.RetryAfter {
		secs := int64((rate.end.Sub(now) + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	}
	if delay > 0 {
		timer := time.NewTimer(delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		}
	}
	if a.err != nil {
		writeJSON(w, a.err.Status, s.api.ErrorBody(a.err))
		return
	}
	body := a.page.Body
	switch a.fault {
	case FaultTruncated:
		h.Set("Content-Type", "application/json")
		_, _ = w.Write(body[:len(body)/2])
	case FaultNotArray:
		writeJSON(w, http.StatusOK, s.cfg.NotArray)
	case FaultHTML:
		h.Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html><body><h1>502 Bad Gateway</h1></body></html>\n"))
	case FaultReset:
		resetMidBody(w, body)
	default:
		if a.fault == 0 { // a fault the server does not know sends the bare body
			for k, vs := range a.page.Header {
				h[k] = append(h[k], vs...)
			}
		}
		writeJSON(w, http.StatusOK, body)
	}
}

// decide answers r: rate limit, then the token, then faults, then the method, then the API's page.
func (s *Server[T]) decide(r *http.Request) (answer, rateDecision, time.Time, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	s.stats.Requests++
	s.log = append(s.log, r.URL.RequestURI())
	rate := s.window.take(now)
	failed := func(e *Error) (answer, rateDecision, time.Time, time.Duration) {
		return answer{err: e}, rate, now, s.delay
	}
	if !rate.allowed {
		s.stats.RateLimited++
		if rate.overBudget {
			s.stats.OverBudget++
		}
		return failed(s.cfg.Errors.RateLimited)
	}
	if !s.api.Authorized(r.Header.Get("Authorization"), s.token) {
		s.stats.Unauthorized++
		return failed(s.cfg.Errors.Unauthorized)
	}
	s.passed++
	var fault Fault
	if len(s.faults) > 0 {
		fault, s.faults = s.faults[0], s.faults[1:]
		s.stats.Faults++
	} else if s.cfg.FailEvery > 0 && s.passed%s.cfg.FailEvery == 0 {
		fault = FaultServerError
	}
	switch fault {
	case FaultServerError:
		s.stats.ServerErrors++
		return failed(s.cfg.Errors.ServerError)
	case FaultForbidden:
		return failed(s.cfg.Errors.Forbidden)
	}
	if r.Method != http.MethodGet {
		return failed(s.cfg.Errors.MethodNotAllowed)
	}
	page, err := s.api.Page(r, now, s.items)
	if err != nil {
		s.stats.BadRequests++
		return failed(err)
	}
	if fault == 0 {
		s.stats.Pages++
		s.stats.Items += page.Items
		if page.Items == 0 {
			s.stats.EmptyPages++
		}
	}
	return answer{fault: fault, page: page}, rate, now, s.delay
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// resetMidBody announces the whole body, sends half of it and closes the connection.
func resetMidBody(w http.ResponseWriter, body []byte) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("emulator: the response writer cannot be hijacked")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body[:len(body)/2])
	if conn, _, err := hj.Hijack(); err == nil { // Hijack flushes what was written
		_ = conn.Close()
	}
}
