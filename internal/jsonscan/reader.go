package jsonscan

import (
	"bytes"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// Reader reads JSON text in place with a jsontext.Decoder: the values it returns are slices of the text.
type Reader struct {
	B        []byte
	src      bytes.Buffer
	Dec      jsontext.Decoder
	MaxDepth int
	key      []byte
}

// Reset starts reading b.
func (r *Reader) Reset(b []byte, maxDepth int, opts ...jsontext.Options) {
	r.B, r.MaxDepth = b, maxDepth
	r.src = *bytes.NewBuffer(b)
	r.Dec.Reset(&r.src, opts...)
}

// Value reads the next value whole, refusing one nested deeper than MaxDepth.
func (r *Reader) Value() ([]byte, error) {
	v, err := r.Dec.ReadValue()
	if err != nil {
		return nil, err
	}
	if TooDeep(v, r.MaxDepth-r.Dec.StackDepth()) {
		return nil, ErrDepth
	}
	return v, nil
}

// Object reads the object that comes next (the caller peeked '{') and returns its bounds in B. For each
// paths[k] (dot-separated names) not found yet, it sets found[k] to the raw value there.
func (r *Reader) Object(paths []string, found [][]byte) (start, end int, err error) {
	d := &r.Dec
	if _, err := d.ReadToken(); err != nil {
		return 0, 0, err
	}
	start = int(d.InputOffset()) - 1
	if d.StackDepth() > r.MaxDepth {
		return 0, 0, ErrDepth
	}
	for d.PeekKind() != '}' {
		name, err := d.ReadValue()
		if err != nil {
			return 0, 0, err
		}
		key := name[1 : len(name)-1]
		if bytes.IndexByte(key, '\\') >= 0 || !utf8.Valid(key) {
			r.key, _ = jsontext.AppendUnquote(r.key[:0], name)
			key = r.key
		}
		if err := r.member(key, paths, found); err != nil {
			return 0, 0, err
		}
	}
	if _, err := d.ReadToken(); err != nil {
		return 0, 0, err
	}
	return start, int(d.InputOffset()), nil
}

// member reads the value of an object's member named key, recording it (or values under it) for paths.
func (r *Reader) member(key []byte, paths []string, found [][]byte) error {
	var direct [MaxPaths]bool
	var sub [MaxPaths]string
	var subOf [MaxPaths]int
	nsub, ndirect := 0, 0
	for k, p := range paths {
		if found[k] != nil {
			continue
		}
		switch {
		case p == string(key):
			direct[k] = true
			ndirect++
		case len(p) > len(key) && p[len(key)] == '.' && p[:len(key)] == string(key):
			sub[nsub], subOf[nsub] = p[len(key)+1:], k
			nsub++
		}
	}
	var v []byte
	if nsub > 0 && r.Dec.PeekKind() == '{' {
		var subFound [MaxPaths][]byte
		start, end, err := r.Object(sub[:nsub], subFound[:nsub])
		if err != nil {
			return err
		}
		for j := range nsub {
			if subFound[j] != nil {
				found[subOf[j]] = subFound[j]
			}
		}
		v = r.B[start:end]
	} else {
		var err error
		if v, err = r.Value(); err != nil {
			return err
		}
	}
	if ndirect > 0 {
		for k := range paths {
			if direct[k] {
				found[k] = v
			}
		}
	}
	return nil
}
