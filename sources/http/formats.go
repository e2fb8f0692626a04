package http

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/flickerlog/flicker/internal/jsonscan"
)

// Body parsers. Each reads a whole body into b and returns an error saying what is wrong with it (a 400 with
// that reason, nothing shipped); none publishes anything. Bodies are scanned strictly: what is copied into events
// is valid JSON.

var (
	errEmptyBody = errors.New("empty body")
	errNotUTF8   = errors.New("the body is not valid UTF-8")
)

// lines calls fn with the bounds of every line of body that is not blank, trimmed of white space, and the line
// number (from 1). It stops at fn's first error.
func lines(body []byte, fn func(start, end, n int) error) error {
	n := 0
	for pos := 0; pos < len(body); {
		end := bytes.IndexByte(body[pos:], '\n')
		if end < 0 {
			end = len(body)
		} else {
			end += pos
		}
		n++
		s, e := trim(body, pos, end)
		if s < e {
			if err := fn(s, e, n); err != nil {
				return err
			}
		}
		pos = end + 1
	}
	return nil
}

func trim(b []byte, s, e int) (int, int) {
	for s < e && isSpace(b[s]) {
		s++
	}
	for e > s && isSpace(b[e-1]) {
		e--
	}
	return s, e
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// lineError puts a line number in front of a scanner's error.
func lineError(n int, err error) error { return fmt.Errorf("line %d: %w", n, err) }

// parseNDJSON reads one JSON value per line.
func (b *batch) parseNDJSON() error {
	err := lines(b.body, func(start, end, n int) error {
		if b.over {
			return errEventBudget
		}
		s := jsonscan.Scanner{B: b.body[:end], I: start, Strict: true}
		if err := b.value(&s); err != nil {
			return lineError(n, err)
		}
		if s.WS(); s.I != end {
			return lineError(n, s.Fail("data after the value"))
		}
		return nil
	})
	if err == nil && len(b.events) == 0 {
		return errEmptyBody
	}
	return err
}

// parseArray reads one JSON array, each element an event.
func (b *batch) parseArray() error {
	s := jsonscan.Scanner{B: b.body, Strict: true}
	s.WS()
	more, err := s.EnterArray()
	for err == nil && more {
		if err = b.overErr(); err != nil {
			break
		}
		if err = b.value(&s); err == nil {
			more, err = s.NextElement()
		}
	}
	if err != nil {
		return err
	}
	if s.WS(); s.I != len(s.B) {
		return s.Fail("data after the array")
	}
	return nil
}

// isArray says whether body's first byte that is not white space opens an array.
func isArray(body []byte) bool {
	for _, c := range body {
		if !isSpace(c) {
			return c == '['
		}
	}
	return false
}
