package processors

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// A dissect pattern is literal text with fields between, matched as Filebeat's dissect does: the value must
// start with the pattern's leading text, and a field's value runs to the first occurrence of the text after it
// (its delimiter). A pattern ending with a field gives it the rest of the value; one ending with text ignores
// what follows that text's first occurrence.
//
//	%{key}          the value
//	%{+key}         appended to key's value (a plain %{key} of the same name is the first part), joined by the
//	                text before the appended field (a space when there is none); %{+key/2} sets the order
//	%{?key}, %{}    matched and skipped
//	%{&key}         the value of the field named by the value of %{*key}, %{?key} or %{key}
//	%{key->}        repeated delimiters after the value are skipped (right padding)
//	%{key|long}     typed value: integer, long, float, double (a JSON number), boolean (true or false), ip
//	                (checked, kept a string), string; "-" and "" leave a typed field out
//
// A typed value converts as in Filebeat (strconv, after trailing spaces; 0x for integers) and is written as a JSON
// number. Unlike Filebeat, a typed value that does not convert is a parse error (Filebeat keeps the string, which
// an index mapping the field as a number then rejects), and a %{*key} or %{&key} without its partner is a pattern
// error (Filebeat ignores it).
type dissect struct {
	prefix []byte
	fields []dissectField
	// appends lists, per appended key, the indexes of its parts in the order they are joined.
	appends [][]int
	// refs pairs, per %{&key}, the field whose value names the field and the &key field itself.
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
	// join is what an appended field's value is joined to the parts before it with.
	join []byte
	// group is the index in appends of an appended field, or in refs of a %{&key} field.
	group int
	// emit marks the last part of an append group in the pattern: the whole value is set there.
	emit bool
	pos  int // byte offset of the field's "%{" in the pattern, for error messages
}

type dissectRef struct{ key, value int }

// dissectMaxStackFields is how many fields Parse tracks without allocating.
const dissectMaxStackFields = 32

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
		f.join = lit
		if len(f.join) == 0 {
			f.join = []byte(" ")
		}
		d.fields = append(d.fields, f)
		rest = rest[i+end+1:]
		offset = start + end + 1
	}
	if len(d.fields) == 0 {
		return nil, errors.New("dissect pattern: no %{field}: a pattern needs at least one")
	}
	d.fields[len(d.fields)-1].delim = literalOf()
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
		if body == "" { // %{->}: skip a padded value
			f.kind = dissectSkip
			return f, nil
		}
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
// its first part) and each %{&key} with the field whose value names its field.
func (d *dissect) group() error {
	appendKeys := map[string]bool{}
	for _, f := range d.fields {
		if f.kind == dissectAppend {
			appendKeys[f.key] = true
		}
	}
	groups := map[string]int{}
	for i := range d.fields {
		f := &d.fields[i]
		if f.kind == dissectAppend || (f.kind == dissectValue && appendKeys[f.key]) {
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

	// namers are the fields whose value can name a %{&key}'s field, by name: *key first, then ?key, then key.
	namers := map[string]int{}
	for _, kind := range []dissectKind{dissectValue, dissectSkip, dissectRefKey} {
		for i, f := range d.fields {
			if f.kind == kind && f.key != "" {
				namers[f.key] = i
			}
		}
	}
	used := map[int]bool{}
	for i := range d.fields {
		f := &d.fields[i]
		if f.kind != dissectRefValue {
			continue
		}
		namer, ok := namers[f.key]
		if !ok {
			return fmt.Errorf("dissect pattern: %%{&%s} at byte %d has no field naming it: add %%{*%s} (or %%{?%s})", f.key, f.pos, f.key, f.key)
		}
		f.group = len(d.refs)
		d.refs = append(d.refs, dissectRef{key: namer, value: i})
		used[namer] = true
	}
	for i, f := range d.fields {
		if f.kind == dissectRefKey && !used[i] {
			return fmt.Errorf("dissect pattern: %%{*%s} at byte %d names no value: add %%{&%s}", f.key, f.pos, f.key)
		}
	}
	return nil
}

// Parse splits val by the pattern. It allocates only for patterns with more than dissectMaxStackFields
// fields, for reference fields (the key is a new string) and for ip checks.
func (d *dissect) Parse(val []byte, out Setter) error {
	if !bytes.HasPrefix(val, d.prefix) {
		return fmt.Errorf("value does not start with %q", d.prefix)
	}
	var stack [dissectMaxStackFields]dissectSpan
	spans := stack[:0]
	if len(d.fields) > len(stack) {
		spans = make([]dissectSpan, 0, len(d.fields))
	}
	pos := len(d.prefix)
	for i := range d.fields {
		f := &d.fields[i]
		var end, next int
		switch {
		case f.delim == nil:
			end, next = len(val), len(val)
		default:
			j := bytes.Index(val[pos:], f.delim)
			if j < 0 {
				return fmt.Errorf("expected %q after %%{%s} (from byte %d of the value)", f.delim, f.key, pos)
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
		case dissectRefValue:
			r := d.refs[f.group]
			key := val[spans[r.key].start:spans[r.key].end]
			if len(key) == 0 {
				return fmt.Errorf("%%{&%s} has no field name: the value naming it is empty", f.key)
			}
			if err := setTyped(out, string(key), f.conv, val[spans[i].start:spans[i].end]); err != nil {
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
			buf = append(buf, d.fields[i].join...)
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
			var buf [24]byte
			if n, ok = convertedInteger(buf[:0], v); !ok {
				return fmt.Errorf("%s: %q is not an integer", key, v)
			}
		}
		out.SetRaw(key, n)
	case convFloat:
		n := v
		if !isJSONNumber(v) {
			var buf [32]byte
			var ok bool
			if n, ok = convertedFloat(buf[:0], v); !ok {
				return fmt.Errorf("%s: %q is not a number", key, v)
			}
		}
		out.SetRaw(key, n)
	case convBoolean:
		switch {
		case bytes.EqualFold(v, jsonTrue):
			out.SetRaw(key, jsonTrue)
		case bytes.EqualFold(v, jsonFalse):
			out.SetRaw(key, jsonFalse)
		default:
			return fmt.Errorf("%s: %q is not true or false", key, v)
		}
	case convIP:
		if _, err := netip.ParseAddr(string(v)); err != nil {
			return fmt.Errorf("%s: %q is not an IP address", key, v)
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

// convertedInteger appends v to dst as a JSON integer where Filebeat's dissect converts it and JSON's grammar
// does not take it as it is: trailing spaces, a plus sign, leading zeros after a minus, 0x hexadecimal.
func convertedInteger(dst, v []byte) ([]byte, bool) {
	t, neg := string(bytes.TrimRight(v, " ")), false
	if rest, ok := strings.CutPrefix(t, "-"); ok {
		t, neg = rest, true
	} else {
		t = strings.TrimPrefix(t, "+")
	}
	base := 10
	if rest, ok := strings.CutPrefix(strings.ToLower(t), "0x"); ok {
		t, base = rest, 16
	}
	if t == "" || t[0] == '+' || t[0] == '-' {
		return nil, false
	}
	n, err := strconv.ParseUint(t, base, 64)
	switch {
	case err != nil || (!neg && n > math.MaxInt64) || (neg && n > 1<<63):
		return nil, false
	case neg:
		return strconv.AppendInt(dst, int64(-n), 10), true // -(1<<63) wraps to itself: MinInt64
	default:
		return strconv.AppendUint(dst, n, 10), true
	}
}

// convertedFloat appends v to dst as a JSON number where Filebeat's dissect converts it (strconv.ParseFloat,
// after trailing spaces) and JSON's grammar does not take it as it is (".5", "007.5", "+1"); not NaN or Inf.
func convertedFloat(dst, v []byte) ([]byte, bool) {
	f, err := strconv.ParseFloat(string(bytes.TrimRight(v, " ")), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, false
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64), true
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
