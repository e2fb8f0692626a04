package elasticsearch

import (
	"errors"
	"fmt"
	"io"

	"github.com/go-json-experiment/json/jsontext"
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

// maxDepth bounds the nesting the parser follows, counting the response object as 1: a response nested deeper is
// malformed.
const maxDepth = 64

// errMalformed is the error of every response the parser cannot read.
var errMalformed = errors.New("malformed _bulk response")

// A _bulk response is read up to responseBase plus responsePerAction per action sent: far more than any
// Elasticsearch or OpenSearch answer (an item is a few hundred bytes, a few KiB with an error), so that a proxy
// or host answering 2xx with a huge body costs bounded memory (the parser holds a value whole). A longer answer
// is an error: its events are retried.
const (
	responseBase      = 1 << 20
	responsePerAction = 64 << 10
)

// keepDecoderBelow: after a response longer than this the parser's decoder is dropped, with the buffer it grew.
const keepDecoderBelow = 1 << 20

// readResponse parses a _bulk response to a request of actions actions into res, read up to the bound above.
func (p *responseParser) readResponse(body io.Reader, actions int, res *bulkResult) error {
	capped := &cappedReader{r: body, left: responseBase + int64(actions)*responsePerAction}
	err := p.parse(capped, res)
	if capped.read > keepDecoderBelow {
		p.dec = jsontext.Decoder{}
	}
	return err
}

// responseParser reads _bulk responses as a stream of tokens: it keeps only what the sink needs (the errors
// flag, each item's status, and the error of failed items), allocates nothing for successful items, and does not
// decode the items once "errors":false tells it that every item succeeded. The formats of Elasticsearch 7 and 8
// and OpenSearch 2 differ only in members it skips (such as _type), in member order, and in filter_path output.
type responseParser struct {
	dec jsontext.Decoder // reused: its buffer grows to the largest value read whole (an item), then stays
	str []byte           // the last name or string read, unescaped; reused
}

func newResponseParser() *responseParser { return &responseParser{} }

// parse reads a _bulk response body into res, the whole top-level object. When "errors":false precedes "items",
// the items are skipped without being decoded: every item succeeded. A repeated "errors" member is malformed:
// encoding/json would take the last one, and after skipping the items the parser can no longer honour a later
// "errors":true, so the batch is retried rather than accepted on the first flag's word.
func (p *responseParser) parse(body io.Reader, res *bulkResult) error {
	p.dec.Reset(body, responseOptions...)
	defer p.dec.Reset(eof{}) // do not keep the body reachable
	res.reset()
	if err := p.open('{'); err != nil {
		return err
	}
	sawItems, sawErrors := false, false
	for {
		more, err := p.more()
		if err != nil {
			return err
		}
		if !more {
			break
		}
		if err := p.name(); err != nil {
			return err
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
			if err := p.skipItems(); err != nil {
				return err
			}
		case string(p.str) == "items":
			sawItems = true
			if err := p.items(res); err != nil {
				return err
			}
		default:
			if err := p.skip(); err != nil {
				return err
			}
		}
	}
	if !sawItems && !res.skipped { // "errors":false alone (a filter_path that drops the items) is success
		return fmt.Errorf("%w: no items", errMalformed)
	}
	return p.end()
}

// eof is an empty body.
type eof struct{}

func (eof) Read([]byte) (int, error) { return 0, io.EOF }

// skipItems reads the items array without decoding it, one element at a time, so that the decoder's buffer holds
// one item, not the whole array.
func (p *responseParser) skipItems() error {
	if err := p.open('['); err != nil {
		return err
	}
	for {
		more, err := p.more()
		if err != nil || !more {
			return err
		}
		if err := p.skip(); err != nil {
			return err
		}
	}
}

// items reads the items array: each element is an object with one member named after the action (index,
// create, ...) whose value holds status and error.
func (p *responseParser) items(res *bulkResult) error {
	if err := p.open('['); err != nil {
		return err
	}
	res.items = res.items[:0] // a repeated member replaces the earlier one, as in encoding/json
	for {
		more, err := p.more()
		if err != nil || !more {
			return err
		}
		if err := p.open('{'); err != nil {
			return err
		}
		var it itemResult
		for {
			more, err := p.more()
			if err != nil {
				return err
			}
			if !more {
				break
			}
			if err := p.name(); err != nil {
				return err
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
	if err := p.open('{'); err != nil {
		return err
	}
	for {
		more, err := p.more()
		if err != nil || !more {
			return err
		}
		if err := p.name(); err != nil {
			return err
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
			if err := p.skip(); err != nil {
				return err
			}
		}
	}
}

// itemError reads an item's error: an object with type, reason and caused_by (a plain string in very old
// versions; null is no error).
func (p *responseParser) itemError() (*ItemError, error) {
	switch p.dec.PeekKind() {
	case '"':
		s, err := p.readStringValue()
		return &ItemError{Reason: s}, err
	case '{':
	default:
		return nil, p.skip()
	}
	e := &ItemError{}
	if err := p.open('{'); err != nil {
		return nil, err
	}
	for {
		more, err := p.more()
		if err != nil {
			return nil, err
		}
		if !more {
			return e, nil
		}
		if err := p.name(); err != nil {
			return nil, err
		}
		switch {
		case string(p.str) == "type":
			e.Type, err = p.readStringValue()
		case string(p.str) == "reason":
			e.Reason, err = p.readStringValue()
		case string(p.str) == "caused_by":
			err = p.cause(e)
		default:
			err = p.skip()
		}
		if err != nil {
			return nil, err
		}
	}
}

// cause reads caused_by: its type and reason; deeper causes are skipped.
func (p *responseParser) cause(e *ItemError) error {
	if p.dec.PeekKind() != '{' {
		return p.skip()
	}
	if err := p.open('{'); err != nil {
		return err
	}
	for {
		more, err := p.more()
		if err != nil || !more {
			return err
		}
		if err := p.name(); err != nil {
			return err
		}
		switch {
		case string(p.str) == "type":
			e.CauseType, err = p.readStringValue()
		case string(p.str) == "reason":
			e.CauseReason, err = p.readStringValue()
		default:
			err = p.skip()
		}
		if err != nil {
			return err
		}
	}
}

// cappedReader reads r up to left bytes, then fails with an error that says so.
type cappedReader struct {
	r          io.Reader
	left, read int64
}

func (c *cappedReader) Read(b []byte) (int, error) {
	if c.left <= 0 {
		return 0, fmt.Errorf("longer than %d bytes, the bound for the actions sent", c.read)
	}
	if int64(len(b)) > c.left {
		b = b[:c.left]
	}
	n, err := c.r.Read(b)
	c.left -= int64(n)
	c.read += int64(n)
	return n, err
}
