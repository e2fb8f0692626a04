package estest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// The emulator's answers: items, whole-request errors and response rendering, in Elasticsearch's formats.

// item is one entry of the items array, as Elasticsearch renders it (omitempty leaves out what filter_path
// removed or the flavor lacks).
type item struct {
	Index       string     `json:"_index,omitempty"`
	Type        string     `json:"_type,omitempty"`
	ID          string     `json:"_id,omitempty"`
	Version     int        `json:"_version,omitempty"`
	Result      string     `json:"result,omitempty"`
	Shards      *shards    `json:"_shards,omitempty"`
	SeqNo       *int       `json:"_seq_no,omitempty"`
	PrimaryTerm int        `json:"_primary_term,omitempty"`
	Status      *int       `json:"status,omitempty"`
	Error       *itemError `json:"error,omitempty"`
	op          string
}

type shards struct {
	Total      int `json:"total"`
	Successful int `json:"successful"`
	Failed     int `json:"failed"`
}

type itemError struct {
	Type      string     `json:"type"`
	Reason    string     `json:"reason"`
	Index     string     `json:"index,omitempty"`
	Shard     string     `json:"shard,omitempty"`
	IndexUUID string     `json:"index_uuid,omitempty"`
	CausedBy  *itemError `json:"caused_by,omitempty"`
}

// errorFor returns the exception Elasticsearch reports for a status.
func errorFor(status int, id string) (typ, reason string) {
	switch status {
	case http.StatusBadRequest:
		return "mapper_parsing_exception", fmt.Sprintf("failed to parse field [message] of type [long] in "+
			"document with id '%s'. Preview of field's value: 'not a number'", id)
	case http.StatusForbidden:
		return "security_exception", "action [indices:data/write/bulk[s]] is unauthorized for API key id [k1]"
	case http.StatusNotFound:
		return "index_not_found_exception", "no such index [logs] and [action.auto_create_index] is [false]"
	case http.StatusTooManyRequests:
		return "es_rejected_execution_exception", "rejected execution of coordinating operation " +
			"[coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1024, " +
			"max_coordinating_and_primary_bytes=1000]"
	case http.StatusServiceUnavailable:
		return "unavailable_shards_exception", "[logs][0] primary shard is not active Timeout: [1m]"
	}
	return "illegal_state_exception", fmt.Sprintf("emulated failure with status %d", status)
}

// writeError writes Elasticsearch's error body for a whole request.
func writeError(w http.ResponseWriter, status int, typ, reason string) {
	cause := map[string]any{"type": typ, "reason": reason}
	body, _ := json.Marshal(map[string]any{
		"error":  map[string]any{"root_cause": []any{cause}, "type": typ, "reason": reason},
		"status": status,
	})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// render writes the response: members in the flavor's order, trimmed by filter_path as Elasticsearch does for
// the paths the sink uses (top-level names and items.*.<member>).
func (e *Server) render(items []item, filterPath string) []byte {
	keepTop := map[string]bool{"took": true, "errors": true, "items": true}
	var keepItem map[string]bool
	if filterPath != "" && !e.opts.IgnoreFilterPath {
		keepTop, keepItem = map[string]bool{}, map[string]bool{}
		for _, f := range strings.Split(filterPath, ",") {
			if m, ok := strings.CutPrefix(f, "items.*."); ok {
				keepTop["items"], keepItem[m] = true, true
			} else {
				keepTop[f] = true
			}
		}
	}
	failed := false
	rendered := make([]map[string]item, len(items))
	for i, it := range items {
		if *it.Status >= 300 {
			failed = true
		}
		if keepItem != nil {
			it = item{Status: pick(keepItem["status"], it.Status), Error: pick(keepItem["error"], it.Error)}
		}
		rendered[i] = map[string]item{items[i].op: it}
	}
	itemsJSON, _ := json.Marshal(rendered)
	members := []string{"took", "errors", "items"}
	if e.opts.Flavor == FlavorES7 {
		members = []string{"errors", "took", "items"}
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for _, m := range members {
		if !keepTop[m] {
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		switch m {
		case "took":
			b.WriteString(`"took":3`)
		case "errors":
			fmt.Fprintf(&b, `"errors":%t`, failed)
		case "items":
			b.WriteString(`"items":`)
			b.Write(itemsJSON)
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}

func pick[T any](keep bool, v *T) *T {
	if keep {
		return v
	}
	return nil
}

// discardResponse is the filtered answer to n successful index actions.
func (e *Server) discardResponse(n int) []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r, ok := e.discarded[n]; ok {
		return r
	}
	var b bytes.Buffer
	b.WriteString(`{"errors":false,"items":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"index":{"status":201}}`)
	}
	b.WriteString("]}")
	e.discarded[n] = b.Bytes()
	return e.discarded[n]
}

// APIKeyOf is the encoded form of an API key "id:key", as the create API key API returns it.
func APIKeyOf(idKey string) string { return base64.StdEncoding.EncodeToString([]byte(idKey)) }
