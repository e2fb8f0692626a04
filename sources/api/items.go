package api

import (
	"errors"
	"fmt"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/jsonscan"
)

// item is one event of a page: slices of the response body, never copies.
type item struct {
	raw []byte // the item's JSON exactly as received
	// id is the value at id_path (a string's contents, a number's text); nil when there is none. It lies in the
	// body unless the string held escapes.
	id     []byte
	time   time.Time
	timeOK bool // time holds a valid value at time_path
}

// page is what a 2xx response body holds.
type page struct {
	items   []item
	cursor  []byte // body_cursor: the raw value at cursor_path; nil when absent
	hasMore []byte // body_cursor: the raw value at has_more_path
	nextURL []byte // next_url: the raw value at next_url_path
}

// errNotArray is a body (or items_path value) that is not a JSON array.
var errNotArray = errors.New("not a JSON array")

// parser splits a response body into items according to a source's paths. Its item slice is reused from page
// to page: a page's items are consumed (turned into events) before the next page is parsed.
type parser struct {
	itemsPath string
	bodyPaths []string // items, then cursor / has_more / next URL paths, for an object body
	// bodyIdx tells which bodyPaths entry holds what; -1 when not configured.
	cursorIdx, hasMoreIdx, nextIdx int
	itemPaths                      []string // id_path, then time_path when configured
	items                          []item
}

func newParser(c *Config) *parser {
	p := &parser{itemsPath: c.ItemsPath, cursorIdx: -1, hasMoreIdx: -1, nextIdx: -1}
	if c.ItemsPath != "" {
		p.bodyPaths = append(p.bodyPaths, c.ItemsPath)
		add := func(path string, idx *int) {
			if path != "" {
				*idx = len(p.bodyPaths)
				p.bodyPaths = append(p.bodyPaths, path)
			}
		}
		switch c.Pagination {
		case PaginationBodyCursor:
			add(c.CursorPath, &p.cursorIdx)
			add(c.HasMorePath, &p.hasMoreIdx)
		case PaginationNextURL:
			add(c.NextURLPath, &p.nextIdx)
		}
	}
	p.itemPaths = append(p.itemPaths, c.IDPath)
	if c.TimePath != "" {
		p.itemPaths = append(p.itemPaths, c.TimePath)
	}
	return p
}

// parse reads body into pg. An error means the body is not what the source expects (not JSON, not an array
// where the items should be): the page is refused as a whole.
func (p *parser) parse(body []byte, pg *page) error {
	*pg = page{items: p.items[:0]}
	defer func() { p.items = pg.items[:0] }()
	if p.itemsPath == "" {
		return p.split(body, pg)
	}
	var found [jsonscan.MaxPaths][]byte
	if err := jsonscan.Lookup(body, p.bodyPaths, found[:len(p.bodyPaths)]); err != nil {
		return err
	}
	if p.cursorIdx >= 0 {
		pg.cursor = found[p.cursorIdx]
	}
	if p.hasMoreIdx >= 0 {
		pg.hasMore = found[p.hasMoreIdx]
	}
	if p.nextIdx >= 0 {
		pg.nextURL = found[p.nextIdx]
	}
	arr := found[0]
	if arr == nil || string(arr) == "null" {
		return nil // APIs that leave out empty lists: an empty page
	}
	if arr[0] != '[' {
		return fmt.Errorf("items_path %s: %w", p.itemsPath, errNotArray)
	}
	return p.split(arr, pg)
}

// split appends the elements of the JSON array b (white space around it allowed) to pg.items.
func (p *parser) split(b []byte, pg *page) error {
	s := jsonscan.Scanner{B: b}
	s.WS()
	if s.Peek() != '[' {
		return errNotArray
	}
	more, err := s.EnterArray()
	for err == nil && more {
		if err = p.element(&s, pg); err == nil {
			more, err = s.NextElement()
		}
	}
	if err != nil {
		return err
	}
	s.WS()
	if s.I != len(s.B) {
		return s.Fail("data after the array")
	}
	return nil
}

// element scans one array element, picking the id and time of an object.
func (p *parser) element(s *jsonscan.Scanner, pg *page) error {
	start := s.I
	var found [2][]byte
	if s.Peek() == '{' {
		if err := s.Object(p.itemPaths, found[:len(p.itemPaths)]); err != nil {
			return err
		}
	} else if err := s.Skip(); err != nil {
		return err
	}
	it := item{raw: s.B[start:s.I]}
	if found[0] != nil {
		if id, ok := jsonscan.StringValue(found[0]); ok && len(id) > 0 {
			it.id = id
		}
	}
	if found[1] != nil {
		it.time, it.timeOK = parseTimeValue(found[1])
	}
	pg.items = append(pg.items, it)
	return nil
}

// hashID is the id of an item without one: a hash of its bytes, so that a replay gives the same id.
func hashID(input string, raw []byte) []byte {
	seed := engine.SeedID([]byte(input), raw)
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz" // engine's id alphabet
	out := make([]byte, engine.IDLen)
	var acc uint64
	bitsHeld, j := 0, 0
	for _, by := range seed {
		acc = acc<<8 | uint64(by)
		bitsHeld += 8
		for bitsHeld >= 5 && j < len(out) {
			out[j] = alphabet[(acc>>(bitsHeld-5))&31]
			bitsHeld -= 5
			j++
		}
	}
	if j < len(out) { // the last 3 bits, padded
		out[j] = alphabet[(acc<<(5-bitsHeld))&31]
	}
	return out
}
