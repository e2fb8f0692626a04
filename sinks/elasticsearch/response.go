package elasticsearch

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// bulkResult is what a _bulk response says about the request's actions.
type bulkResult struct {
	errors  bool // the response's "errors" flag: some item failed
	skipped bool // "errors":false came before "items": every item succeeded, and the items were not decoded
	// items has one entry per action, in request order (unless skipped). Reused between responses.
	items []itemResult
}

// itemResult is one action's outcome.
type itemResult struct {
	status int
	err    *ItemError // the item's "error", when it has one
}

func (r *bulkResult) reset() {
	clear(r.items[:cap(r.items)]) // drop the errors of the previous response
	r.items, r.errors, r.skipped = r.items[:0], false, false
}

// maxDepth bounds the nesting the parser follows, so that a hostile or broken response cannot exhaust the stack.
const maxDepth = 64

// errMalformed is the error of every response the parser cannot read.
var errMalformed = errors.New("malformed _bulk response")

// responseParser reads _bulk responses as a stream of tokens: it keeps only what the sink needs (the errors
// flag, each item's status, and the error of failed items), allocates nothing for successful items, and stops
// reading as soon as "errors":false tells it that every item succeeded. The formats of Elasticsearch 7 and 8 and
// OpenSearch 2 differ only in members it skips (such as _type), in member order, and in filter_path output.
type responseParser struct {
	r   *bufio.Reader
	str []byte // the last string read; reused
}

func newResponseParser() *responseParser {
	return &responseParser{r: bufio.NewReaderSize(nil, 32<<10)}
}

// parse reads a _bulk response body into res, the whole top-level object. When "errors":false precedes "items",
// the items are skipped without being decoded: every item succeeded. A repeated "errors" member is malformed:
// encoding/json would take the last one, and after skipping the items the parser can no longer honour a later
// "errors":true, so the batch is retried rather than accepted on the first flag's word.
func (p *responseParser) parse(body io.Reader, res *bulkResult) error {
	p.r.Reset(body)
	defer p.r.Reset(nil) // do not keep the body reachable
	res.reset()
	if err := p.expect('{'); err != nil {
		return err
	}
	sawItems, sawErrors := false, false
	for first := true; ; first = false {
		ok, err := p.member(first)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch {
		case string(p.str) == "errors":
			if sawErrors {
				return fmt.Errorf("%w: errors member repeated", errMalformed)
			}
			sawErrors = true
			v, err := p.readBool()
			if err != nil {
				return err
			}
			res.errors = v
			res.skipped = !v && !sawItems
		case string(p.str) == "items" && res.skipped:
			sawItems = true
			if err := p.skip(0); err != nil {
				return err
			}
		case string(p.str) == "items":
			sawItems = true
			if err := p.items(res); err != nil {
				return err
			}
		default:
			if err := p.skip(0); err != nil {
				return err
			}
		}
	}
	if !sawItems && !res.skipped { // "errors":false alone (a filter_path that drops the items) is success
		return fmt.Errorf("%w: no items", errMalformed)
	}
	return p.end()
}

// items reads the items array: each element is an object with one member named after the action (index,
// create, ...) whose value holds status and error.
func (p *responseParser) items(res *bulkResult) error {
	if err := p.expect('['); err != nil {
		return err
	}
	res.items = res.items[:0] // a repeated member replaces the earlier one, as in encoding/json
	for first := true; ; first = false {
		ok, err := p.element(first)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if err := p.expect('{'); err != nil {
			return err
		}
		var it itemResult
		for f := true; ; f = false {
			ok, err := p.member(f)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			if err := p.item(&it); err != nil {
				return err
			}
		}
		res.items = append(res.items, it)
	}
}

// item reads an action's result object.
func (p *responseParser) item(it *itemResult) error {
	if err := p.expect('{'); err != nil {
		return err
	}
	for first := true; ; first = false {
		ok, err := p.member(first)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		switch {
		case string(p.str) == "status":
			if it.status, err = p.readInt(); err != nil {
				return err
			}
		case string(p.str) == "error":
			if it.err, err = p.itemError(); err != nil {
				return err
			}
		default:
			if err := p.skip(1); err != nil {
				return err
			}
		}
	}
}

// itemError reads an item's error: an object with type, reason and caused_by (a plain string in very old
// versions; null is no error).
func (p *responseParser) itemError() (*ItemError, error) {
	c, err := p.peek()
	if err != nil {
		return nil, err
	}
	switch c {
	case '"':
		s, err := p.readStringValue()
		return &ItemError{Reason: s}, err
	case '{':
	default:
		return nil, p.skip(2)
	}
	e := &ItemError{}
	_ = p.expectByte()
	for first := true; ; first = false {
		ok, err := p.member(first)
		if err != nil {
			return nil, err
		}
		if !ok {
			return e, nil
		}
		switch {
		case string(p.str) == "type":
			e.Type, err = p.readStringValue()
		case string(p.str) == "reason":
			e.Reason, err = p.readStringValue()
		case string(p.str) == "caused_by":
			err = p.cause(e)
		default:
			err = p.skip(3)
		}
		if err != nil {
			return nil, err
		}
	}
}

// cause reads caused_by: its type and reason; deeper causes are skipped.
func (p *responseParser) cause(e *ItemError) error {
	if c, err := p.peek(); err != nil || c != '{' {
		if err != nil {
			return err
		}
		return p.skip(3)
	}
	_ = p.expectByte()
	for first := true; ; first = false {
		ok, err := p.member(first)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		switch {
		case string(p.str) == "type":
			e.CauseType, err = p.readStringValue()
		case string(p.str) == "reason":
			e.CauseReason, err = p.readStringValue()
		default:
			err = p.skip(4)
		}
		if err != nil {
			return err
		}
	}
}
