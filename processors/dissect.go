package processors

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// A dissect pattern is literal text with fields between; a field's value runs from where the text before it
// ends to the first occurrence of the literal text after it (the delimiter). The last field takes the rest of
// the value, or, when the pattern ends with literal text, everything up to that text, which must end the value.
//
//	%{key}          the value
//	%{+key}         appended to key's value, joined by one space; %{+key/2} sets the order among the parts
//	%{?key}, %{}    matched and skipped
//	%{*key} %{&key} the value of *key names a field, the value of &key is that field's value
//	%{key->}        repeated delimiters after the value are skipped (right padding)
//	%{key|long}     typed value: integer, long, float, double (a JSON number), boolean (true or false), ip
//	                (checked, kept a string), string; "-" and "" leave a typed field out
type dissect struct {
	prefix []byte
	fields []dissectField
	// suffix is the literal that ends the pattern, if any: the value must end with it.
	suffix []byte
	// appends lists, per appended key, the indexes of its parts in the order they are joined.
	appends [][]int
	// refs pairs the *key and &key fields of each reference name.
	refs []dissectRef
}

type dissectKind uint8

const (
	dissectValue dissectKind = iota
	dissectAppend
	dissectSkip
	dissectRefKey
	dissectRefValue
)

type dissectConv uint8

const (
	convNone dissectConv = iota
	convInteger
	convFloat
	convBoolean
	convIP
)

type dissectField struct {
	key      string
	kind     dissectKind
	conv     dissectConv
	order    int // explicit /n of an appended field; 0 when not given
	padRight bool
	// delim is the literal after the field; nil for the last field.
	delim []byte
	// group is the index in appends of an appended field, or in refs of a reference field.
	group int
	// emit marks the field at which its append group or reference pair is complete and set.
	emit bool
	pos  int // byte offset of the field's "%{" in the pattern, for error messages
}

type dissectRef struct{ key, value int }

// dissectMaxStackFields is how many fields Parse tracks without allocating.
const dissectMaxStackFields = 64

type dissectSpan struct{ start, end int }

var (
	jsonTrue  = []byte("true")
	jsonFalse = []byte("false")
)

// appendBufPool holds the buffers appended values are joined in, so that Parse does not allocate per line.
var appendBufPool = sync.Pool{New: func() any { return new([]byte) }}

// NewDissect compiles a dissect pattern (see DissectConfig). Its error names the pattern position that is
// wrong: "dissect pattern: unclosed %{ at byte 14".
func NewDissect(pattern string) (Parser, error) {
	if pattern == "" {
		return nil, errors.New("dissect pattern: empty: give at least one %{field}")
	}
	d := &dissect{}
	rest := pattern
	offset := 0
	var literal strings.Builder
	literalOf := func() []byte {
		if literal.Len() == 0 {
			return nil
		}
		b := []byte(literal.String())
		literal.Reset()
		return b
	}
	for rest != "" {
		i := strings.Index(rest, "%{")
		if i < 0 {
			literal.WriteString(rest)
			break
		}
		literal.WriteString(rest[:i])
		start := offset + i
		end := strings.IndexByte(rest[i:], '}')
		if end < 0 {
			return nil, fmt.Errorf("dissect pattern: unclosed %%{ at byte %d", start)
		}
		body := rest[i+2 : i+end]
		if strings.Contains(body, "%{") {
			return nil, fmt.Errorf("dissect pattern: unclosed %%{ at byte %d", start)
		}
		lit := literalOf()
		if len(d.fields) == 0 {
			d.prefix = lit
		} else {
			prev := &d.fields[len(d.fields)-1]
			if lit == nil {
				return nil, fmt.Errorf("dissect pattern: %%{%s} at byte %d follows the field before it with no text between them: put a delimiter between fields", body, start)
			}
			prev.delim = lit
		}
		f, err := parseDissectField(body, start)
		if err != nil {
			return nil, err
		}
		d.fields = append(d.fields, f)
		rest = rest[i+end+1:]
		offset = start + end + 1
	}
	if len(d.fields) == 0 {
		return nil, errors.New("dissect pattern: no %{field}: a pattern needs at least one")
	}
	d.suffix = literalOf()
	if d.suffix != nil {
		d.fields[len(d.fields)-1].delim = d.suffix
	}
	if err := d.group(); err != nil {
		return nil, err
	}
	return d, nil
}

func parseDissectField(body string, pos int) (dissectField, error) {
	f := dissectField{pos: pos}
	if body == "" {
		f.kind = dissectSkip
		return f, nil
	}
	if name, conv, ok := strings.Cut(body, "|"); ok {
		body = name
		switch conv {
		case "integer", "long":
			f.conv = convInteger
		case "float", "double":
			f.conv = convFloat
		case "boolean":
			f.conv = convBoolean
		case "ip":
			f.conv = convIP
		case "string":
		default:
			return f, fmt.Errorf("dissect pattern: unknown type %q of %%{%s} at byte %d: use integer, long, float, double, boolean, ip or string", conv, name, pos)
		}
	}
	if k, ok := strings.CutSuffix(body, "->"); ok {
		body, f.padRight = k, true
	}
	switch {
	case strings.HasPrefix(body, "+"):
		f.kind = dissectAppend
		body = body[1:]
		if k, n, ok := strings.Cut(body, "/"); ok {
			order, err := strconv.Atoi(n)
			if err != nil || order < 1 {
				return f, fmt.Errorf("dissect pattern: append order %q of %%{+%s} at byte %d is not a positive number", n, k, pos)
			}
			body, f.order = k, order
		}
	case strings.HasPrefix(body, "?"):
		f.kind = dissectSkip
		body = body[1:]
	case strings.HasPrefix(body, "*"):
		f.kind = dissectRefKey
		body = body[1:]
	case strings.HasPrefix(body, "&"):
		f.kind = dissectRefValue
		body = body[1:]
	}
	if body == "" && f.kind != dissectSkip {
		return f, fmt.Errorf("dissect pattern: field at byte %d has no name", pos)
	}
	if strings.ContainsAny(body, "%{}") {
		return f, fmt.Errorf("dissect pattern: field name %q at byte %d holds one of %%, { or }", body, pos)
	}
	if f.conv != convNone && (f.kind == dissectSkip || f.kind == dissectRefKey) {
		return f, fmt.Errorf("dissect pattern: %%{%s} at byte %d is not set, so it cannot have a type", body, pos)
	}
	f.key = body
	return f, nil
}

// group resolves the fields that combine: the parts of an appended key (a plain %{key} with the same name is
// its first part) and the *key/&key pairs.
func (d *dissect) group() error {
	appendKeys := map[string]bool{}
	for _, f := range d.fields {
		if f.kind == dissectAppend {
			appendKeys[f.key] = true
		}
	}
	groups := map[string]int{}
	refs := map[string]int{}
	for i := range d.fields {
		f := &d.fields[i]
		switch {
		case f.kind == dissectAppend || (f.kind == dissectValue && appendKeys[f.key]):
			if f.conv != convNone {
				return fmt.Errorf("dissect pattern: appended field %%{%s} at byte %d cannot have a type", f.key, f.pos)
			}
			g, ok := groups[f.key]
			if !ok {
				g = len(d.appends)
				groups[f.key] = g
				d.appends = append(d.appends, nil)
			}
			f.kind, f.group = dissectAppend, g
			d.appends[g] = append(d.appends[g], i)
		case f.kind == dissectRefKey || f.kind == dissectRefValue:
			r, ok := refs[f.key]
			if !ok {
				r = len(d.refs)
				refs[f.key] = r
				d.refs = append(d.refs, dissectRef{key: -1, value: -1})
			}
			slot := &d.refs[r].key
			if f.kind == dissectRefValue {
				slot = &d.refs[r].value
			}
			if *slot >= 0 {
				return fmt.Errorf("dissect pattern: reference %%{%s} at byte %d appears twice", f.key, f.pos)
			}
			*slot, f.group = i, r
		}
	}
	for _, members := range d.appends {
		// A part without /n ranks by its place among the parts (first is 1), so /n can move parts around it.
		rank := map[int]int{}
		for n, i := range members {
			rank[i] = cmp.Or(d.fields[i].order, n+1)
		}
		slices.SortStableFunc(members, func(a, b int) int { return cmp.Compare(rank[a], rank[b]) })
		d.fields[slices.Max(members)].emit = true
	}
	for _, r := range d.refs {
		if r.key < 0 || r.value < 0 {
			i := max(r.key, r.value)
			return fmt.Errorf("dissect pattern: reference %%{%s} at byte %d has no partner: use both %%{*%s} and %%{&%s}", d.fields[i].key, d.fields[i].pos, d.fields[i].key, d.fields[i].key)
		}
		d.fields[max(r.key, r.value)].emit = true
	}
	return nil
}

// Parse splits val by the pattern. It allocates only for patterns with more than dissectMaxStackFields
// fields, for reference fields (the key is a new string) and for ip checks.
func (d *dissect) Parse(val []byte, out Setter) error {
	if !bytes.HasPrefix(val, d.prefix) {
		return fmt.Errorf("dissect: value does not start with %q", d.prefix)
	}
	var stack [dissectMaxStackFields]dissectSpan
	spans := stack[:0]
	if len(d.fields) > len(stack) {
		spans = make([]dissectSpan, 0, len(d.fields))
	}
	pos := len(d.prefix)
	last := len(d.fields) - 1
	for i := range d.fields {
		f := &d.fields[i]
		var end, next int
		switch {
		case f.delim == nil:
			end, next = len(val), len(val)
		case i == last:
			if !bytes.HasSuffix(val[pos:], f.delim) {
				return fmt.Errorf("dissect: expected %q after %%{%s} at the end of the value", f.delim, f.key)
			}
			end, next = len(val)-len(f.delim), len(val)
		default:
			j := bytes.Index(val[pos:], f.delim)
			if j < 0 {
				return fmt.Errorf("dissect: expected %q after %%{%s} (from byte %d of the value)", f.delim, f.key, pos)
			}
			end = pos + j
			next = end + len(f.delim)
			if f.padRight {
				for bytes.HasPrefix(val[next:], f.delim) {
					next += len(f.delim)
				}
			}
		}
		spans = append(spans, dissectSpan{pos, end})
		pos = next
	}
	for i := range d.fields {
		f := &d.fields[i]
		switch f.kind {
		case dissectValue:
			if err := setTyped(out, f.key, f.conv, val[spans[i].start:spans[i].end]); err != nil {
				return err
			}
		case dissectAppend:
			if f.emit {
				d.setAppended(out, f, val, spans)
			}
		case dissectRefKey, dissectRefValue:
			if !f.emit {
				continue
			}
			r := d.refs[f.group]
			key := val[spans[r.key].start:spans[r.key].end]
			if len(key) == 0 {
				return fmt.Errorf("dissect: %%{*%s} is empty, so its value has no field name", f.key)
			}
			if err := setTyped(out, string(key), d.fields[r.value].conv, val[spans[r.value].start:spans[r.value].end]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *dissect) setAppended(out Setter, f *dissectField, val []byte, spans []dissectSpan) {
	bp := appendBufPool.Get().(*[]byte)
	buf := (*bp)[:0]
	for n, i := range d.appends[f.group] {
		if n > 0 {
			buf = append(buf, ' ')
		}
		buf = append(buf, val[spans[i].start:spans[i].end]...)
	}
	out.SetString(f.key, buf)
	*bp = buf
	appendBufPool.Put(bp)
}

// setTyped sets key to v converted as conv; "-" and "" leave a typed field out, as access logs write them for
// "none".
func setTyped(out Setter, key string, conv dissectConv, v []byte) error {
	if conv != convNone && (len(v) == 0 || (len(v) == 1 && v[0] == '-')) {
		return nil
	}
	switch conv {
	case convInteger:
		n, ok := jsonInteger(v)
		if !ok {
			return fmt.Errorf("dissect: %s: %q is not an integer", key, v)
		}
		out.SetRaw(key, n)
	case convFloat:
		if !isJSONNumber(v) {
			return fmt.Errorf("dissect: %s: %q is not a number", key, v)
		}
		out.SetRaw(key, v)
	case convBoolean:
		switch {
		case bytes.EqualFold(v, jsonTrue):
			out.SetRaw(key, jsonTrue)
		case bytes.EqualFold(v, jsonFalse):
			out.SetRaw(key, jsonFalse)
		default:
			return fmt.Errorf("dissect: %s: %q is not true or false", key, v)
		}
	case convIP:
		if _, err := netip.ParseAddr(string(v)); err != nil {
			return fmt.Errorf("dissect: %s: %q is not an IP address", key, v)
		}
		out.SetString(key, v)
	default:
		out.SetString(key, v)
	}
	return nil
}

// jsonInteger returns v as a JSON integer: an optional minus and digits, leading zeros dropped (JSON has none).
func jsonInteger(v []byte) ([]byte, bool) {
	digits := v
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 {
		return nil, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return nil, false
		}
	}
	if len(digits) > 1 && digits[0] == '0' {
		if len(digits) != len(v) {
			return nil, false // "-007": no sub-slice is a JSON integer
		}
		for len(v) > 1 && v[0] == '0' {
			v = v[1:]
		}
	}
	return v, true
}

// isJSONNumber reports whether v is a number in JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func isJSONNumber(v []byte) bool {
	i := 0
	if i < len(v) && v[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
			n++
		}
		return n
	}
	start := i
	n := digits()
	if n == 0 || (n > 1 && v[start] == '0') {
		return false
	}
	if i < len(v) && v[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		if i < len(v) && (v[i] == '+' || v[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(v)
}
