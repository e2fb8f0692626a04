package http

import (
	"bytes"
	"errors"
	"io"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/flickerlog/flicker/internal/jsonscan"
)

var protoOpts = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

func (b *batch) parseNDJSONJT(r *jsonscan.Reader) error {
	err := lines(b.body, func(start, end, n int) error {
		r.Reset(b.body[start:end], 512, protoOpts...)
		if err := b.valueJT(r); err != nil {
			return lineError(n, err)
		}
		if _, err := r.Dec.ReadToken(); err != io.EOF {
			return lineError(n, errors.New("data after the value"))
		}
		return nil
	})
	if err == nil && len(b.events) == 0 {
		return errEmptyBody
	}
	return err
}

func (b *batch) valueJT(r *jsonscan.Reader) error {
	switch r.Dec.PeekKind() {
	case '{':
		var found [jsonscan.MaxPaths][]byte
		start, end, err := r.Object(docPaths, found[:len(docPaths)])
		if err != nil {
			return err
		}
		off := offsetIn(b.body, r.B)
		b.document(off+start, off+end, found[:3], found[docTimePath])
		return nil
	case '"':
		v, err := r.Value()
		if err != nil {
			return err
		}
		ms := offsetIn(b.body, v) + 1
		b.add(b.stringRef(ms, ms+len(v)-2, bytes.IndexByte(v, '\\') >= 0), noRef, noRef, time.Time{})
		return nil
	}
	v, err := r.Value()
	if err != nil {
		return err
	}
	off := offsetIn(b.body, v)
	b.add(bodyRef(off, off+len(v)), noRef, noRef, time.Time{})
	return nil
}
