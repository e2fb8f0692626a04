package elasticsearch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ItemError is Elasticsearch's answer for one action of a _bulk request that did not succeed: the reason of a
// rejected event (recorded in the dead letter) or of an event to retry.
type ItemError struct {
	Status      int    // the item's HTTP status
	Type        string // the exception type, such as mapper_parsing_exception
	Reason      string
	CauseType   string // caused_by.type, often the precise problem (illegal_argument_exception)
	CauseReason string
}

func (e *ItemError) Error() string {
	if d := e.detail(); d != "" {
		return fmt.Sprintf("elasticsearch item status %d: %s", e.Status, d)
	}
	return fmt.Sprintf("elasticsearch item status %d", e.Status)
}

// detail is "type: reason (caused by type: reason)", leaving out what is empty.
func (e *ItemError) detail() string {
	var b strings.Builder
	b.WriteString(e.Type)
	if e.Reason != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Reason)
	}
	if e.CauseType != "" || e.CauseReason != "" {
		b.WriteString(" (caused by ")
		b.WriteString(e.CauseType)
		if e.CauseType != "" && e.CauseReason != "" {
			b.WriteString(": ")
		}
		b.WriteString(e.CauseReason)
		b.WriteString(")")
	}
	return strings.TrimSpace(b.String())
}

// StatusError is a whole _bulk request answered with a status other than 2xx.
type StatusError struct {
	Host   string // the host's URL (hosts never hold credentials)
	Status int
	Reason string // the error type and reason of Elasticsearch's error body, or the start of another body
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("elasticsearch %s: status %d: %s", e.Host, e.Status, e.Reason)
}

// maxErrorBody caps what is read of an error response.
const maxErrorBody = 64 << 10

// readErrorReason reads an error response's reason: Elasticsearch's {"error":{"type":...,"reason":...}} (or a
// plain string error), else the start of the body as text (a proxy's page).
func readErrorReason(body io.Reader) string {
	data, _ := io.ReadAll(io.LimitReader(body, maxErrorBody))
	var doc struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(data, &doc) == nil && len(doc.Error) > 0 {
		var obj struct {
			Type     string `json:"type"`
			Reason   string `json:"reason"`
			CausedBy *struct {
				Type   string `json:"type"`
				Reason string `json:"reason"`
			} `json:"caused_by"`
		}
		if json.Unmarshal(doc.Error, &obj) == nil && (obj.Type != "" || obj.Reason != "") {
			e := ItemError{Type: obj.Type, Reason: obj.Reason}
			if obj.CausedBy != nil {
				e.CauseType, e.CauseReason = obj.CausedBy.Type, obj.CausedBy.Reason
			}
			return e.detail()
		}
		var s string
		if json.Unmarshal(doc.Error, &s) == nil && s != "" {
			return s
		}
	}
	return snippet(data, 200)
}

// snippet returns the start of a body as one line of printable text.
func snippet(data []byte, n int) string {
	if len(data) == 0 {
		return "empty body"
	}
	s := strings.ToValidUTF8(string(data[:min(len(data), n)]), "")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		// Only control bytes or invalid UTF-8: say so rather than give an empty reason.
		return fmt.Sprintf("a body of %d bytes without text", len(data))
	}
	if len(data) > n {
		s += "…"
	}
	return s
}

// errNoItemStatus is the retry reason of an item whose status the response did not give.
var errNoItemStatus = errors.New("elasticsearch item without a status")
