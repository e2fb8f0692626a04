package http

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
)

// The Elasticsearch side: _bulk, and the endpoints that Elasticsearch clients call before they send (node info
// and its product header, license, cluster health, index templates, ILM policies, ingest pipelines, data
// streams), answered the way a node with everything in place would, so that Filebeat, Fluent Bit, Vector,
// Logstash and the official clients point their Elasticsearch output at flicker unchanged.

// esVersion is the Elasticsearch version flicker answers as: 8.x, which current clients accept.
const esVersion = "8.19.0"

func setESHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	// The official clients (and Beats, Logstash) refuse a server without it.
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
}

// serveES routes the Elasticsearch endpoints; path is the request's.
func (l *listener) serveES(w http.ResponseWriter, r *http.Request, path string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) == 1 && segs[0] == "" {
		segs = nil
	}
	if n := len(segs); n > 0 && n <= 2 && segs[n-1] == "_bulk" {
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			l.badMethod(w, famES)
			return
		}
		index := ""
		if n == 2 {
			index = segs[0]
		}
		if l.authorized(w, r, famES) {
			l.ingest(w, r, famES, kindBulk, index)
		}
		return
	}
	if !l.authorized(w, r, famES) {
		return
	}
	body, ok := l.esAnswer(r.Method, segs)
	if !ok {
		l.notFound(w, r, famES)
		return
	}
	setESHeaders(w)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		out, _ := json.Marshal(body)
		_, _ = w.Write(out)
	}
}

type obj = map[string]any

// esAnswer is the body of a management endpoint; false for an endpoint flicker does not answer.
func (l *listener) esAnswer(method string, segs []string) (any, bool) {
	write := method == http.MethodPut || method == http.MethodPost || method == http.MethodDelete
	read := method == http.MethodGet || method == http.MethodHead
	if len(segs) == 0 {
		return nodeInfo(), read
	}
	name := ""
	if len(segs) > 1 {
		name = segs[len(segs)-1]
	}
	switch segs[0] {
	case "_license":
		return obj{"license": obj{"status": "active", "uid": "flicker", "type": "basic", "mode": "basic",
			"issue_date": "2024-01-01T00:00:00.000Z", "issue_date_in_millis": 1704067200000, "max_nodes": 1000,
			"issued_to": "flicker", "issuer": "elasticsearch", "start_date_in_millis": -1}}, read
	case "_xpack":
		return obj{"build": obj{"hash": "flicker", "date": "2024-01-01T00:00:00.000Z"},
			"license":  obj{"uid": "flicker", "type": "basic", "mode": "basic", "status": "active"},
			"features": obj{}}, read
	case "_cluster":
		if len(segs) >= 2 && segs[1] == "health" {
			return obj{"cluster_name": "flicker", "status": "green", "timed_out": false, "number_of_nodes": 1,
				"number_of_data_nodes": 1, "active_primary_shards": 0, "active_shards": 0, "relocating_shards": 0,
				"initializing_shards": 0, "unassigned_shards": 0, "delayed_unassigned_shards": 0,
				"number_of_pending_tasks": 0, "number_of_in_flight_fetch": 0,
				"task_max_waiting_in_queue_millis": 0, "active_shards_percent_as_number": 100.0}, read
		}
	case "_nodes":
		return obj{"_nodes": obj{"total": 1, "successful": 1, "failed": 0}, "cluster_name": "flicker",
			"nodes": obj{}}, read
	case "_index_template", "_template", "_component_template", "_ilm", "_ingest", "_data_stream", "_alias",
		"_aliases", "_security", "_ml":
		if write {
			return obj{"acknowledged": true}, true
		}
		if read && name != "" {
			return existing(segs[0], name), true
		}
	default:
		if !strings.HasPrefix(segs[0], "_") && len(segs) == 1 {
			// An index: it exists (HEAD, GET), or is created (PUT).
			if write {
				return obj{"acknowledged": true, "shards_acknowledged": true, "index": segs[0]}, true
			}
			return obj{segs[0]: obj{"aliases": obj{}, "mappings": obj{}, "settings": obj{}}}, read
		}
	}
	return nil, false
}

// existing answers a GET of a named template, policy, pipeline or data stream as if it existed already, so
// that clients which install their own at start leave it at that.
func existing(kind, name string) any {
	switch kind {
	case "_index_template":
		return obj{"index_templates": []any{obj{"name": name, "index_template": obj{
			"index_patterns": []string{name + "*"}, "composed_of": []string{}}}}}
	case "_component_template":
		return obj{"component_templates": []any{obj{"name": name, "component_template": obj{"template": obj{}}}}}
	case "_ilm":
		return obj{name: obj{"version": 1, "modified_date": "2024-01-01T00:00:00.000Z",
			"policy": obj{"phases": obj{}}}}
	case "_data_stream":
		return obj{"data_streams": []any{obj{"name": name, "timestamp_field": obj{"name": "@timestamp"},
			"indices": []any{}, "generation": 1, "status": "GREEN", "template": name}}}
	case "_template":
		return obj{name: obj{"order": 0, "index_patterns": []string{name + "*"}, "settings": obj{},
			"mappings": obj{}, "aliases": obj{}}}
	case "_ingest":
		return obj{name: obj{"processors": []any{}}}
	}
	return obj{name: obj{}}
}

// nodeInfo is the answer of GET /.
func nodeInfo() any {
	host, _ := os.Hostname()
	return obj{
		"name":         host,
		"cluster_name": "flicker",
		"cluster_uuid": "flicker0000000000000000",
		"version": obj{
			"number": esVersion, "build_flavor": "default", "build_type": "docker", "build_hash": "flicker",
			"build_date": "2024-01-01T00:00:00.000Z", "build_snapshot": false, "lucene_version": "9.12.0",
			"minimum_wire_compatibility_version":  "7.17.0",
			"minimum_index_compatibility_version": "7.0.0",
		},
		"tagline": "You Know, for Search",
	}
}
