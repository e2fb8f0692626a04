package estest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// maxIDBytes is Elasticsearch's limit on an _id, in UTF-8 bytes.
const maxIDBytes = 512

// knownParams are the members an action's metadata may hold in Elasticsearch 8; any other answers the whole
// request 400. Source: BulkRequestParser.parse in elastic/elasticsearch
// (server/src/main/java/org/elasticsearch/action/bulk/BulkRequestParser.java): "Action/metadata line [N] contains
// an unknown parameter [x]", an IllegalArgumentException, so illegal_argument_exception with status 400.
// require_data_stream and list_executed_pipelines are accepted from 8.13 on.
var knownParams = map[string]bool{
	"_index": true, "_id": true, "routing": true, "op_type": true, "version": true, "version_type": true,
	"if_seq_no": true, "if_primary_term": true, "retry_on_conflict": true, "pipeline": true, "_source": true,
	"require_alias": true, "dynamic_templates": true, "require_data_stream": true, "list_executed_pipelines": true,
}

// action is one parsed action with its document.
type action struct {
	op     string // index or create (an index action with "op_type":"create" is a create)
	name   string // the action's name, as the response's item is keyed
	index  string
	id     string
	source []byte
}

// bulk parses every action and document pair, validates the request as a whole, and only then applies the
// actions, as Elasticsearch does: a request that fails parsing or validation changes nothing. A non-zero
// status is a whole-request error. indexed holds the sources of the actions answered 2xx.
func (e *Server) bulk(lines [][]byte) (items []item, indexed [][]byte, status int, typ, reason string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var actions []action
	for n := 0; n < len(lines); n += 2 {
		a, status, typ, reason := e.parseAction(lines[n], n+1)
		if status != 0 {
			return nil, nil, status, typ, reason
		}
		if n+1 >= len(lines) {
			return nil, nil, http.StatusBadRequest, "illegal_argument_exception",
				fmt.Sprintf("The bulk request must be terminated by a newline [\\n]; action line [%d] has no source", n+1)
		}
		a.source = lines[n+1]
		actions = append(actions, a)
	}
	if f := e.opts.RefuseField; f != "" && slices.ContainsFunc(actions, func(a action) bool { return hasField(a.source, f) }) {
		return nil, nil, http.StatusBadRequest, "illegal_argument_exception",
			fmt.Sprintf("a document of the request holds the refused field [%s]", f)
	}
	if msg := validate(actions); msg != "" {
		return nil, nil, http.StatusBadRequest, "action_request_validation_exception", msg
	}
	for _, a := range actions {
		it := e.apply(a)
		items = append(items, it)
		if *it.Status < 300 {
			indexed = append(indexed, a.source)
		}
	}
	return items, indexed, 0, "", ""
}

// hasField reports whether the JSON object doc has the top-level member field.
func hasField(doc []byte, field string) bool {
	var members map[string]json.RawMessage
	if json.Unmarshal(doc, &members) != nil {
		return false
	}
	_, ok := members[field]
	return ok
}

// parseAction reads the action line at line (1-based, counting document lines too, as Elasticsearch does).
func (e *Server) parseAction(data []byte, line int) (a action, status int, typ, reason string) {
	var parsed map[string]map[string]json.RawMessage
	if err := json.Unmarshal(data, &parsed); err != nil || len(parsed) != 1 {
		return a, http.StatusBadRequest, "x_content_parse_exception",
			fmt.Sprintf("[%d:1] Malformed action/metadata line [%d]", line, line)
	}
	var meta map[string]json.RawMessage
	for name, m := range parsed { // the only member
		a.name, meta = name, m
	}
	if a.name != "index" && a.name != "create" {
		return a, http.StatusBadRequest, "illegal_argument_exception",
			fmt.Sprintf("Malformed action/metadata line [%d], expected one of [create, delete, index, update] but found [%s]", line, a.name)
	}
	for _, k := range slices.Sorted(maps.Keys(meta)) { // Elasticsearch names the first in line order; sorted is stable
		if !knownParams[k] && (k != "_type" || e.opts.Flavor != FlavorES7) {
			return a, http.StatusBadRequest, "illegal_argument_exception",
				fmt.Sprintf("Action/metadata line [%d] contains an unknown parameter [%s]", line, k)
		}
	}
	str := func(k string) string {
		var s string
		_ = json.Unmarshal(meta[k], &s)
		return s
	}
	a.op, a.index, a.id = a.name, str("_index"), str("_id")
	if a.op == "index" && str("op_type") == "create" {
		a.op = "create"
	}
	return a, 0, "", ""
}

// validate is BulkRequest.validate: the errors of every action, numbered, in one message. Source: BulkRequest.validate
// and IndexRequest.validate in elastic/elasticsearch (server/src/main/java/org/elasticsearch/action/bulk/
// BulkRequest.java, .../action/index/IndexRequest.java; the message as IndexRequestTests.testValidate checks it).
// An _id longer than 512 bytes fails the whole request with 400 action_request_validation_exception, not the item.
func validate(actions []action) string {
	var errs []string
	for _, a := range actions {
		if a.index == "" {
			errs = append(errs, "index is missing")
		}
		if len(a.id) > maxIDBytes {
			errs = append(errs, fmt.Sprintf("id [%s] is too long, must be no longer than %d bytes but was: %d",
				a.id, maxIDBytes, len(a.id)))
		}
	}
	if len(errs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("Validation Failed: ")
	for i, msg := range errs {
		fmt.Fprintf(&b, "%d: %s;", i+1, msg)
	}
	return b.String()
}

// apply runs one action under e.mu.
func (e *Server) apply(a action) item {
	id, index := a.id, a.index
	if id == "" {
		e.autoIDs++
		id = fmt.Sprintf("auto-%d", e.autoIDs)
	}
	e.attempts[id]++
	it := item{op: a.name, Index: index, ID: id}
	if e.opts.Flavor == FlavorES7 {
		it.Type = "_doc"
	}
	// fail answers status with cause, or with the error errorFor gives for the status.
	fail := func(st int, cause *itemError) item {
		it.Status = &st
		if cause == nil {
			typ, reason := errorFor(st, id)
			cause = &itemError{Type: typ, Reason: reason, Index: index, Shard: "0", IndexUUID: indexUUID}
			if st == http.StatusBadRequest {
				cause.CausedBy = &itemError{Type: "illegal_argument_exception",
					Reason: `For input string: "not a number"`}
			}
		}
		it.Error = cause
		return it
	}
	if q := e.itemFaults[id]; len(q) > 0 {
		e.itemFaults[id] = q[1:]
		return fail(q[0], nil)
	}
	if st, ok := e.alwaysFail[id]; ok {
		return fail(st, nil)
	}
	if e.runtime.itemFraction > 0 && e.runtime.itemRNG.Float64() < e.runtime.itemFraction {
		return fail(http.StatusTooManyRequests, nil)
	}
	if e.dataStreams[index] {
		// Source: TransportBulkAction (BulkOperation in 8.x) in elastic/elasticsearch throws an
		// IllegalArgumentException for the item, not the request; DataStreamIT.testOtherWriteOps
		// (x-pack/plugin/data-streams/src/internalClusterTest/java/org/elasticsearch/datastreams/DataStreamIT.java)
		// checks the item's failure and that a create's item names the backing index.
		if a.op != "create" {
			return fail(http.StatusBadRequest, &itemError{Type: "illegal_argument_exception",
				Reason: "only write ops with an op_type of create are allowed in data streams"})
		}
		index = e.BackingIndex(index)
		it.Index = index
	}
	var doc map[string]any
	if err := json.Unmarshal(a.source, &doc); err != nil {
		return fail(http.StatusBadRequest, nil)
	}
	if cause := e.mappingError(index, id, doc); cause != nil {
		return fail(http.StatusBadRequest, cause)
	}
	if docID, _ := doc["id"].(string); docID != id {
		e.idMismatches = append(e.idMismatches, fmt.Sprintf("_id %q, id %q", id, docID))
	}
	key := docKey{index, id}
	prev, exists := e.docs[key]
	if exists && a.op == "create" {
		e.conflicts++
		st := http.StatusConflict
		it.Status = &st
		it.Error = &itemError{Type: "version_conflict_engine_exception",
			Reason: fmt.Sprintf("[%s]: version conflict, document already exists (current version [%d])", id,
				prev.Version), Index: index, Shard: "0", IndexUUID: indexUUID}
		return it
	}
	seq := len(e.order)
	st, result, version := http.StatusCreated, "created", 1
	if exists {
		st, result, version = http.StatusOK, "updated", prev.Version+1
	} else {
		e.order = append(e.order, key)
	}
	e.docs[key] = &Doc{Index: index, ID: id, Version: version, Source: doc}
	msg, _ := doc["message"].(string)
	e.deliveries[msg]++
	e.indexes[index] = struct{}{}
	it.Status, it.Result, it.Version, it.SeqNo, it.PrimaryTerm = &st, result, version, &seq, 1
	it.Shards = &shards{Total: 2, Successful: 1}
	return it
}

// indexUUID is the uuid every emulated index reports.
const indexUUID = "aAsFqTI0Tc2W0LCWgPNrOA"

// mappingError is the mapper_parsing_exception for a document whose field mapped as long holds something else
// than a number or a string of an integer (Elasticsearch coerces those), or nil.
func (e *Server) mappingError(index, id string, doc map[string]any) *itemError {
	for _, field := range e.opts.LongFields {
		v, ok := doc[field]
		if !ok {
			continue
		}
		var preview string
		switch v := v.(type) {
		case float64:
			continue
		case string:
			if _, err := strconv.ParseInt(v, 10, 64); err == nil {
				continue
			}
			preview = v
		default:
			b, _ := json.Marshal(v)
			preview = string(b)
		}
		return &itemError{Type: "mapper_parsing_exception",
			Reason: fmt.Sprintf("failed to parse field [%s] of type [long] in document with id '%s'. "+
				"Preview of field's value: '%s'", field, id, preview),
			Index: index, Shard: "0", IndexUUID: indexUUID,
			CausedBy: &itemError{Type: "illegal_argument_exception",
				Reason: fmt.Sprintf("For input string: %q", preview)}}
	}
	return nil
}
