package oktatest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/flickerlog/flicker/sources/api/internal/emulator"
)

const (
	defaultLimit    = 100
	defaultLookback = 7 * 24 * time.Hour   // since defaults to 7 days before until (or now)
	maxSinceAge     = 180 * 24 * time.Hour // older since: 400 E0000053
)

const dateCause = "The date format in your query is not recognized. Please enter dates using ISO8601 string format."

// query is a validated request to /api/v1/logs.
type query struct {
	polling    bool // no until and ascending: filtered on persistence time, infinite pages
	descending bool
	since      time.Time // persistence time (polling) or published (bounded), inclusive
	until      time.Time // published, exclusive; bounded only
	limit      int
	after      *position
	match      predicate // nil: every event
}

// position is what an after cursor points past: a persistence sequence (polling) or a (published, sequence)
// place in published order (bounded).
type position struct {
	polling   bool
	seq       int64
	persisted int64 // unix milliseconds, polling only: part of the token, like Okta's, not used to resume
	published int64 // unix nanoseconds, bounded only
}

// encode is the opaque after token: base64 of the position, so that nobody crafts one from an index.
func (p position) encode() string {
	var s string
	if p.polling {
		s = fmt.Sprintf("p1:%d_%d", p.persisted, p.seq)
	} else {
		s = fmt.Sprintf("b1:%d_%d", p.published, p.seq)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func decodePosition(tok string) (position, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return position{}, false
	}
	kind, rest, ok := strings.Cut(string(raw), ":")
	if !ok || kind != "p1" && kind != "b1" {
		return position{}, false
	}
	a, b, ok := strings.Cut(rest, "_")
	if !ok {
		return position{}, false
	}
	first, errA := strconv.ParseInt(a, 10, 64)
	seq, errB := strconv.ParseInt(b, 10, 64)
	if errA != nil || errB != nil || seq < 0 {
		return position{}, false
	}
	p := position{polling: kind == "p1", seq: seq}
	if p.polling {
		p.persisted = first
	} else {
		p.published = first
	}
	return p, true
}

// parseQuery validates the parameters the way the System Log API documents them.
func parseQuery(v url.Values, now time.Time, maxLimit int) (*query, *emulator.Error) {
	q := &query{limit: defaultLimit}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > maxLimit {
			return nil, validationError("limit", fmt.Sprintf("limit must be an integer between 0 and %d", maxLimit))
		}
		q.limit = n
	}
	switch v.Get("sortOrder") {
	case "", "ASCENDING":
	case "DESCENDING":
		q.descending = true
	default:
		return nil, validationError("sortOrder", "sortOrder must be ASCENDING or DESCENDING")
	}
	since, err := parseTime(v, "since")
	if err != nil {
		return nil, err
	}
	until, err := parseTime(v, "until")
	if err != nil {
		return nil, err
	}
	q.polling = v.Get("until") == "" && !q.descending
	if tok := v.Get("after"); tok != "" {
		if q.polling && v.Get("since") != "" {
			return nil, validationError("after", "since and after are mutually exclusive in a polling request")
		}
		p, ok := decodePosition(tok)
		if !ok || p.polling != q.polling {
			return nil, validationError("after", "the after cursor is not valid for this request; "+
				"use the links the API returns")
		}
		q.after = &p
	}
	if !since.IsZero() && now.Sub(since) > maxSinceAge {
		return nil, &emulator.Error{Status: http.StatusBadRequest, Code: "E0000053",
			Message: "Invalid parameter: The since parameter is over 180 days prior to the current day."}
	}
	q.until = until
	if q.until.IsZero() {
		q.until = now
	}
	q.since = since
	if q.since.IsZero() {
		q.since = q.until.Add(-defaultLookback)
	}
	if f := v.Get("filter"); f != "" {
		if q.match, err = parseFilter(f); err != nil {
			return nil, err
		}
	}
	if s := v.Get("q"); s != "" {
		pred, err := parseQ(s)
		if err != nil {
			return nil, err
		}
		if q.match == nil {
			q.match = pred
		} else {
			f := q.match
			q.match = func(a map[string][]string) bool { return f(a) && pred(a) }
		}
	}
	return q, nil
}

func parseTime(v url.Values, name string) (time.Time, *emulator.Error) {
	s := v.Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, validationError(name, dateCause)
	}
	return t, nil
}

func (q *query) matches(e *event) bool { return q.match == nil || q.match(e.attrs) }
