package http

import (
	"time"

	"github.com/flickerlog/flicker/internal/jsonscan"
)

// hecError is a Splunk HTTP Event Collector error: its code and text, as Splunk answers them.
type hecError struct {
	code   int
	text   string
	status int
	index  int // the event that failed, -1 for the request
}

func (e *hecError) Error() string { return e.text }

// Splunk's HEC answers (docs.splunk.com, "Troubleshoot HTTP Event Collector": status codes and their texts).
var (
	hecSuccess       = hecError{code: 0, text: "Success", status: 200, index: -1}
	hecTokenRequired = hecError{code: 2, text: "Token is required", status: 401, index: -1}
	hecInvalidAuth   = hecError{code: 3, text: "Invalid authorization", status: 401, index: -1}
	hecInvalidToken  = hecError{code: 4, text: "Invalid token", status: 403, index: -1}
	hecNoData        = hecError{code: 5, text: "No data", status: 400, index: -1}
	hecInvalidFormat = hecError{code: 6, text: "Invalid data format", status: 400, index: -1}
	hecBusy          = hecError{code: 9, text: "Server is busy", status: 503, index: -1}
	hecEventRequired = hecError{code: 12, text: "Event field is required", status: 400, index: -1}
	hecEventBlank    = hecError{code: 13, text: "Event field cannot be blank", status: 400, index: -1}
	hecHealthy       = hecError{code: 17, text: "HEC is healthy", status: 200, index: -1}
)

// hecPaths are the members of an HEC event object the source looks at.
var hecPaths = []string{"event", "time", "event.message", "event.log"}

// parseHEC reads the body of /services/collector/event: JSON objects one after the other, each with an event (a
// string, or an object) and optional time (epoch seconds, with a fraction), host, source, sourcetype, index and
// fields. The object is the event's document; time becomes @timestamp.
func (b *batch) parseHEC() error {
	s := jsonscan.Scanner{B: b.body, Strict: true}
	for n := 0; ; n++ {
		if b.over {
			return errEventBudget
		}
		s.WS()
		if s.I == len(s.B) {
			if n == 0 {
				return &hecNoData
			}
			return nil
		}
		if s.Peek() != '{' {
			return hecAt(hecInvalidFormat, n)
		}
		start := s.I
		var found [jsonscan.MaxPaths][]byte
		if err := s.Object(hecPaths, found[:len(hecPaths)]); err != nil {
			return hecAt(hecInvalidFormat, n)
		}
		ev := found[0]
		switch {
		case ev == nil:
			return hecAt(hecEventRequired, n)
		case string(ev) == `""` || string(ev) == "null":
			return hecAt(hecEventBlank, n)
		}
		var t time.Time
		if raw := found[1]; raw != nil {
			var ok bool
			if t, ok = epochTime(raw); !ok {
				return hecAt(hecInvalidFormat, n)
			}
		}
		candidates := [][]byte{ev}
		if ev[0] == '{' {
			candidates = append(candidates[:0], found[2], found[3])
		}
		i := b.document(start, s.I, candidates, nil)
		if len(ev) > 0 && ev[0] != '"' && ev[0] != '{' {
			b.refs[i].msg = bodyRef(offsetIn(b.body, ev), offsetIn(b.body, ev)+len(ev)) // a number or a list: as sent
		} else if ev[0] == '{' && b.refs[i].msg == bodyRef(start, s.I) {
			b.refs[i].msg = bodyRef(offsetIn(b.body, ev), offsetIn(b.body, ev)+len(ev)) // the event object as sent
		}
		if !t.IsZero() {
			b.events[i].Time = t
		}
	}
}

func hecAt(e hecError, n int) *hecError {
	e.index = n
	return &e
}

// parseRaw reads the body of /services/collector/raw: each line is an event's message, as sent.
func (b *batch) parseRaw() error {
	if err := lines(b.body, func(start, end, _ int) error {
		b.add(bodyRef(start, end), noRef, noRef, time.Time{})
		return b.overErr()
	}); err != nil {
		return err
	}
	if len(b.events) == 0 {
		return &hecNoData
	}
	return nil
}

// epochTime parses HEC's time: epoch seconds with an optional fraction, as a number or a string of one.
func epochTime(raw []byte) (time.Time, bool) {
	if len(raw) >= 2 && raw[0] == '"' {
		raw = raw[1 : len(raw)-1]
	}
	var sec, nsec int64
	i := 0
	for ; i < len(raw) && raw[i] >= '0' && raw[i] <= '9'; i++ {
		if sec > (1<<62)/10 {
			return time.Time{}, false
		}
		sec = sec*10 + int64(raw[i]-'0')
	}
	if i == 0 {
		return time.Time{}, false
	}
	if i < len(raw) && raw[i] == '.' {
		i++
		scale := int64(100_000_000)
		for ; i < len(raw) && raw[i] >= '0' && raw[i] <= '9'; i++ {
			nsec += int64(raw[i]-'0') * scale
			scale /= 10
		}
	}
	if i != len(raw) || sec > 253402300799 { // year 9999
		return time.Time{}, false
	}
	return time.Unix(sec, nsec).UTC(), true
}
