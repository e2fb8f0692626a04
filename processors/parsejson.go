package processors

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/flickerlog/flicker/internal/jsonscan"
)

// DefaultJSONMaxDepth is how deep a parsed object may nest when parse_json's max_depth is not set; the object
// itself is depth 1, and a member's dotted name counts one more per dot.
const DefaultJSONMaxDepth = maxDepth

// parseJSON reads a JSON object's top-level members through jsonscan.Members. A value that is not one object
// (text after it included), nesting deeper than maxDepth (a dotted member name counts one level per dot), or a
// member with an empty name is an error, and the event is shipped unparsed. It is lenient where the rest of flicker is: a name given twice
// is set twice, so the last one wins (the Setter keeps the last value), and invalid UTF-8 is replaced with
// U+FFFD, in names, strings and the strings inside raw values alike, as the message's own is. Objects and arrays
// are passed on as written, so a name twice in a nested object is an error (Setter.SetRaw takes none), while a
// \ud800 escape standing alone, valid by JSON's grammar, is kept.
type parseJSON struct {
	maxDepth int
	keys     keyCache
	// recent holds, by position, the keys of the objects parsed last: the lines of one log mostly have the same
	// members in the same order, whose names are then found with one comparison each, not a map lookup. It
	// points into interned, one per key (as many as keys holds), so that storing one allocates nothing.
	recent   [recentKeys]atomic.Pointer[internedKey]
	mu       sync.Mutex
	interned map[string]*internedKey
}

// internedKey is a member name as a string, and how many dots it holds.
type internedKey struct {
	s    string
	dots int
}

// recentKeys is how many leading members' names parseJSON remembers by position.
const recentKeys = 32

var errEmptyName = errors.New("a member has an empty name")

// allowInvalidUTF8 checks a nested value for repeated names only: invalid UTF-8 is replaced after.
var allowInvalidUTF8 = jsontext.AllowInvalidUTF8(true)

// NewJSON returns a parser of JSON objects nested at most maxDepth deep (0: DefaultJSONMaxDepth); each
// top-level member becomes a field: strings through SetString, unescaped; objects, arrays, numbers and literals
// through SetRaw, as written.
func NewJSON(maxDepth int) Parser {
	if maxDepth <= 0 {
		maxDepth = DefaultJSONMaxDepth
	}
	return &parseJSON{maxDepth: maxDepth}
}

func (p *parseJSON) Parse(val []byte, out Setter) error {
	var bp *[]byte // taken from the pool for the first string with escapes: most lines have none
	defer func() {
		if bp != nil {
			appendBufPool.Put(bp)
		}
	}()
	pos := 0
	// Checked once for the whole value, so that its parts, mostly valid too, need no check of their own.
	valid := utf8.Valid(val)
	err := jsonscan.Members(val, p.maxDepth, func(name, value []byte) error {
		if len(name) == 0 {
			return errEmptyName
		}
		key, dots := p.key(pos, name)
		pos++
		// The name's dots nest the value: 1 (the object) + dots + the value's own levels may not pass maxDepth.
		if dots > 0 && (1+dots > p.maxDepth || jsonscan.TooDeep(value, p.maxDepth-1-dots)) {
			return fmt.Errorf("member %s: its dotted name nests it deeper than max_depth %d", clipped(name), p.maxDepth)
		}
		if value[0] == '"' {
			if inner := value[1 : len(value)-1]; bytes.IndexByte(inner, '\\') < 0 && (valid || utf8.Valid(inner)) {
				// Without escapes the text is the string: passed on as a slice of val, which is not copied.
				out.SetString(key, inner)
				return nil
			}
			if bp == nil {
				bp = appendBufPool.Get().(*[]byte)
			}
			// Members checked the escapes; invalid UTF-8 is replaced in the result.
			*bp, _ = jsonscan.AppendUnescaped((*bp)[:0], value[1:len(value)-1])
			out.SetString(key, *bp)
			return nil
		}
		if (value[0] == '{' || value[0] == '[') && !namesUnique(value, valid) {
			// Setter.SetRaw takes objects with no name twice; Members checked the grammar, not the names.
			return fmt.Errorf("member %q: an object in it has a name twice", key)
		}
		if !valid && !utf8.Valid(value) {
			// Only strings can hold non-ASCII bytes, so the replaced text is still the same JSON value.
			value = bytes.ToValidUTF8(value, []byte("\uFFFD"))
		}
		out.SetRaw(key, value)
		return nil
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jsonscan.ErrDepth):
		return fmt.Errorf("nested deeper than max_depth %d", p.maxDepth)
	}
	return err
}

var dot = []byte{sep}

// key returns name, the pos-th member's, as a string, and the dots it holds.
func (p *parseJSON) key(pos int, name []byte) (string, int) {
	if pos >= len(p.recent) {
		return p.keys.get(name), bytes.Count(name, dot)
	}
	if k := p.recent[pos].Load(); k != nil && k.s == string(name) {
		return k.s, k.dots
	}
	k := p.keys.get(name)
	dots := bytes.Count(name, dot)
	p.mu.Lock()
	ptr, ok := p.interned[k]
	if !ok && len(p.interned) < keyCacheMax {
		if p.interned == nil {
			p.interned = make(map[string]*internedKey)
		}
		ptr = &internedKey{s: k, dots: dots}
		p.interned[k] = ptr
	}
	p.mu.Unlock()
	if ptr != nil {
		p.recent[pos].Store(ptr)
	}
	return k, dots
}

// namesUnique reports whether no object in v, a valid JSON value, has a name twice. Objects of plain names
// (no escapes, valid UTF-8, a few per object) are checked by comparing the names' bytes; others by jsontext.
// validUTF8 says that v is known to be valid UTF-8.
func namesUnique(v []byte, validUTF8 bool) bool {
	const maxNames, maxDepth = 32, 16
	var names [maxNames][]byte
	var frames [maxDepth]int // per open object: where its names start in names
	n, depth := 0, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '{':
			if depth == maxDepth {
				return jsontext.Value(v).IsValid(allowInvalidUTF8)
			}
			frames[depth] = n
			depth++
		case '}':
			depth--
			n = frames[depth]
		case '"':
			start, escaped := i+1, false
			for i++; v[i] != '"'; i++ {
				if v[i] == '\\' {
					escaped = true
					i++
				}
			}
			j := i + 1
			for j < len(v) && (v[j] == ' ' || v[j] == '\t' || v[j] == '\n' || v[j] == '\r') {
				j++
			}
			if j == len(v) || v[j] != ':' {
				continue // a value
			}
			name := v[start:i]
			if escaped || n == maxNames || !validUTF8 && !utf8.Valid(name) {
				return jsontext.Value(v).IsValid(allowInvalidUTF8)
			}
			for _, other := range names[frames[depth-1]:n] {
				if bytes.Equal(other, name) {
					return false
				}
			}
			names[n] = name
			n++
		}
	}
	return true
}
