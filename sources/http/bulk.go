package http

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/flickerlog/flicker/internal/eventjson"
	"github.com/flickerlog/flicker/internal/jsonscan"
)

// bulkItem is one action of an Elasticsearch _bulk body, for its entry in the answer.
type bulkItem struct {
	action       string // "index" or "create", or the refused "delete" / "update"
	index, docID ref    // raw string contents in the body (valid JSON string contents); end < 0 when absent
	event        int    // the event it became; -1 for a refused action
	errType      string // the refused action's error, with status
	reason       string
	status       int
}

var actionPaths = []string{"_index", "_id"}

// parseBulk reads an Elasticsearch _bulk body: action lines, each index or create followed by its document.
// delete and update actions are answered with an error in their item, not by refusing the request; a line that
// does not parse refuses the request. defaultIndex is the path's index (/<index>/_bulk), nil for /_bulk.
func (b *batch) parseBulk(defaultIndex ref) error {
	var pending *bulkItem // an action waiting for its source line
	err := lines(b.body, func(start, end, n int) error {
		if b.over {
			return errEventBudget
		}
		s := jsonscan.Scanner{B: b.body[:end], I: start, Strict: true}
		if pending != nil {
			it := pending
			pending = nil
			if s.Peek() != '{' {
				return lineError(n, s.Fail("the document of a bulk action must be a JSON object"))
			}
			var found [jsonscan.MaxPaths][]byte
			if err := s.Object(docPaths, found[:len(docPaths)]); err != nil {
				return lineError(n, err)
			}
			if s.WS(); s.I != end {
				return lineError(n, s.Fail("data after the document"))
			}
			if it.status == 0 {
				it.event = b.document(start, end, found[:3], found[docTimePath])
				if it.docID.end >= 0 {
					b.refs[it.event].id = b.idRef(it.docID)
				}
			}
			return nil
		}
		it, needsSource, err := b.action(&s, end, defaultIndex)
		if err != nil {
			return lineError(n, err)
		}
		b.items = append(b.items, it)
		if needsSource {
			pending = &b.items[len(b.items)-1]
		}
		return nil
	})
	if err != nil {
		return err
	}
	if pending != nil {
		return errBulkNoSource
	}
	if len(b.items) == 0 {
		return errBulkEmpty
	}
	return nil
}

var (
	errBulkNoSource = bulkError("the last action has no document: the bulk request must end with one after each index or create action")
	errBulkEmpty    = bulkError("no requests added: the body holds no action")
)

type bulkError string

func (e bulkError) Error() string { return string(e) }

// action reads the action line at s.I ({"<action>":{"_index":...,"_id":...}}) into an item; needsSource says
// whether a document line follows.
func (b *batch) action(s *jsonscan.Scanner, end int, defaultIndex ref) (it bulkItem, needsSource bool, err error) {
	it = bulkItem{event: -1, index: defaultIndex, docID: noRef}
	if s.Peek() != '{' {
		return it, false, s.Fail("malformed action line: expected an object")
	}
	s.I++
	s.WS()
	if s.Peek() != '"' {
		return it, false, s.Fail("malformed action line: expected the action's name")
	}
	ks, ke, _, err := s.Str()
	if err != nil {
		return it, false, err
	}
	s.WS()
	if s.Peek() != ':' {
		return it, false, s.Fail("expected ':'")
	}
	s.I++
	s.WS()
	if s.Peek() != '{' {
		return it, false, s.Fail("malformed action line: the action's metadata must be an object")
	}
	var found [2][]byte
	if err := s.Object(actionPaths, found[:]); err != nil {
		return it, false, err
	}
	s.WS()
	if s.Peek() != '}' {
		return it, false, s.Fail("malformed action line: expected one action per line")
	}
	s.I++
	if s.WS(); s.I != end {
		return it, false, s.Fail("data after the action")
	}
	for k, raw := range found {
		if raw == nil {
			continue
		}
		if len(raw) < 2 || raw[0] != '"' {
			return it, false, s.Fail(actionPaths[k] + " must be a string")
		}
		off := offsetIn(b.body, raw)
		if k == 0 {
			it.index = bodyRef(off+1, off+len(raw)-1)
		} else {
			it.docID = bodyRef(off+1, off+len(raw)-1)
		}
	}
	switch string(b.body[ks:ke]) {
	case "index", "create":
		it.action = "index"
		if b.body[ks] == 'c' {
			it.action = "create"
		}
		if it.index.end < 0 {
			it.status, it.errType, it.reason = 400, "action_request_validation_exception", "Validation Failed: 1: index is missing;"
		}
		return it, true, nil
	case "update":
		it.action = "update"
		it.status, it.errType, it.reason = 400, "illegal_argument_exception", "flicker receives events: only index and create actions are taken"
		return it, true, nil
	case "delete":
		it.action = "delete"
		it.status, it.errType, it.reason = 400, "illegal_argument_exception", "flicker receives events: only index and create actions are taken"
		return it, false, nil
	default:
		return it, false, s.Fail("malformed action line: unknown action " + strconv.Quote(string(b.body[ks:ke])))
	}
}

// idRef is the event id for a sender's _id (raw string contents): as sent, or unescaped into the arena.
func (b *batch) idRef(raw ref) ref {
	r := raw
	return b.stringRef(int(r.off), int(r.end), bytes.IndexByte(b.bytes(r), '\\') >= 0)
}

// markRejected gives the items whose events an output rejected (dropped, by event index) the rejection as their
// error, status 400: the clients do not send such an item again.
func (b *batch) markRejected(dropped []error) {
	for i := range b.items {
		it := &b.items[i]
		if it.event < 0 || it.event >= len(dropped) || dropped[it.event] == nil {
			continue
		}
		q := eventjson.AppendString(nil, []byte(dropped[it.event].Error()))
		it.status, it.errType, it.reason = http.StatusBadRequest, "document_rejected_exception", string(q[1:len(q)-1])
	}
}

// appendBulkResponse appends the _bulk answer for the items once their events are accepted: each index and
// create item created (201), each refused one with its error.
func (b *batch) appendBulkResponse(dst []byte, tookMS int64) []byte {
	errors := false
	for i := range b.items {
		if b.items[i].status != 0 {
			errors = true
			break
		}
	}
	dst = append(dst, `{"took":`...)
	dst = strconv.AppendInt(dst, tookMS, 10)
	dst = append(dst, `,"errors":`...)
	dst = strconv.AppendBool(dst, errors)
	dst = append(dst, `,"items":[`...)
	for i := range b.items {
		it := &b.items[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(append(append(dst, `{"`...), it.action...), `":{"_index":"`...)
		dst = append(append(dst, b.bytes(it.index)...), `","_id":`...)
		switch {
		case it.docID.end >= 0:
			dst = append(append(append(dst, '"'), b.bytes(it.docID)...), '"')
		case it.event >= 0:
			dst = append(append(append(dst, '"'), b.events[it.event].ID...), '"') // a derived id: base32
		default:
			dst = append(dst, "null"...)
		}
		if it.status != 0 {
			dst = append(dst, `,"status":`...)
			dst = strconv.AppendInt(dst, int64(it.status), 10)
			dst = append(append(append(dst, `,"error":{"type":"`...), it.errType...), `","reason":"`...)
			dst = append(append(dst, it.reason...), `"}}}`...)
			continue
		}
		dst = append(dst, `,"_version":1,"result":"created","_shards":{"total":1,"successful":1,"failed":0},"_seq_no":`...)
		dst = strconv.AppendInt(dst, int64(i), 10)
		dst = append(dst, `,"_primary_term":1,"status":201}}`...)
	}
	return append(dst, "]}"...)
}
