package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// maxAliasWork bounds the work done through aliases and merge keys in one file, in nodes decoded. Without
// aliases the work is proportional to the file; real configurations reuse a few small anchors. The bound stops
// a file whose anchors nest exponentially (billion laughs) from costing unbounded time.
const maxAliasWork = 100000

// unsupportedInputs are input kinds of flicker's configuration that this version does not have yet. They are
// known keys, so a config written for a later version fails with a clear message instead of "unknown key".
var unsupportedInputs []string

var (
	durationType = reflect.TypeOf(time.Duration(0))
	outputType   = reflect.TypeOf(Output{})
)

// pair is one key and value of a YAML mapping. It also records where a field path stands in the file, with a
// nil key for list items.
type pair struct{ key, value *yaml.Node }

// decoder decodes a yaml.Node tree into Go values strictly, driven by the values' types and yaml tags. It
// expands environment variables in scalar values, records the position of every field path for the errors of
// later validation, and collects every problem instead of stopping at the first.
type decoder struct {
	lookup    func(string) (string, bool)
	at        map[string]pair
	failed    map[string]bool // field paths with an error about their value
	errs      Errors
	aliasWork int // work done through aliases so far
	inAlias   int // > 0 while decoding a value reached through an alias

	procs []inputProcessors // the inputs' processors lists, validated with the rest
}

func newDecoder(lookup func(string) (string, bool)) *decoder {
	return &decoder{lookup: lookup, at: make(map[string]pair), failed: make(map[string]bool)}
}

// valueError records a problem with the value at path, found at node n.
func (d *decoder) valueError(n *yaml.Node, path, format string, args ...any) {
	d.failed[path] = true
	e := &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

// overBudget reports whether decoding was cut short by the alias budget; the config is then incomplete and
// validating it would only add noise.
func (d *decoder) overBudget() bool { return d.aliasWork >= maxAliasWork }

// root decodes the top-level mapping into c.
func (d *decoder) root(n *yaml.Node, c *Config) {
	n = d.resolve(n, "")
	if n == nil || isNull(n) {
		return
	}
	if !d.expectKind(n, n, yaml.MappingNode, "", "a mapping of top-level keys (log_files, docker_containers, kubernetes, api_sources, syslog_sources, http_sources, outputs, batch, queue)") {
		return
	}
	v := reflect.ValueOf(c).Elem()
	rest := d.fields(d.pairs(n, ""), v, "")
	known := append(keysOf(v.Type()), unsupportedInputs...)
	for _, p := range rest {
		if !slices.Contains(unsupportedInputs, p.key.Value) {
			d.unknownKey(p, "", known, "")
			continue
		}
		d.at[p.key.Value] = p
		if !isEmpty(d.resolve(p.value, p.key.Value)) {
			d.valueError(p.key, p.key.Value, "not supported by this version of flicker")
		}
	}
}

// decode decodes n into v, the field at path. Errors about the value point at n even when n is an alias: that
// is where the field is.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	pos := n
	if n != nil && n.Kind == yaml.AliasNode {
		d.inAlias++
		defer func() { d.inAlias-- }()
	}
	if d.inAlias > 0 && !d.spend(n, path, 1) {
		return
	}
	n = d.resolve(n, path)
	if n == nil || isNull(n) {
		return // an empty value leaves the field unset, as if the key were absent
	}
	switch v.Type() {
	case durationType:
		d.duration(n, pos, v, path)
		return
	case outputType:
		d.output(n, pos, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		d.decode(pos, p.Elem(), path)
		v.Set(p)
	case reflect.Struct:
		if d.expectKind(n, pos, yaml.MappingNode, path, "a mapping") {
			rest := d.fields(d.pairs(n, path), v, path)
			known := keysOf(v.Type())
			if inputTypes[v.Type()] {
				rest = d.processors(rest, v, path)
				known = append(known, processorsKey)
			}
			for _, p := range rest {
				d.unknownKey(p, path, known, "")
			}
		}
	case reflect.Slice:
		if d.expectKind(n, pos, yaml.SequenceNode, path, "a list") {
			s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
			for i, item := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				d.at[p] = pair{value: item}
				d.decode(item, s.Index(i), p)
			}
			v.Set(s)
		}
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			d.valueError(pos, path, "cannot decode into %s (a bug in flicker)", v.Type())
			return
		}
		if d.expectKind(n, pos, yaml.MappingNode, path, "a mapping") {
			m := reflect.MakeMap(v.Type())
			for _, p := range d.pairs(n, path) {
				fp := joinPath(path, p.key.Value)
				d.at[fp] = p
				elem := reflect.New(v.Type().Elem()).Elem()
				d.decode(p.value, elem, fp)
				m.SetMapIndex(reflect.ValueOf(p.key.Value).Convert(v.Type().Key()), elem)
			}
			v.Set(m)
		}
	default:
		d.scalar(n, pos, v, path)
	}
}

// output decodes an entry of outputs: the envelope keys into Output, the others into its type's config.
func (d *decoder) output(n, pos *yaml.Node, v reflect.Value, path string) {
	if !d.expectKind(n, pos, yaml.MappingNode, path, "a mapping") {
		return
	}
	var o Output
	rest := d.fields(d.pairs(n, path), reflect.ValueOf(&o).Elem(), path)
	envelope := keysOf(outputType)
	switch tc := o.typeConfig(); {
	case tc != nil:
		fv := reflect.ValueOf(tc).Elem()
		rest = d.fields(rest, fv, path)
		for _, p := range rest {
			d.unknownKey(p, path, append(envelope, keysOf(fv.Type())...), "")
		}
	case o.Type == OutputStdout || o.Type == OutputDiscard:
		note := fmt.Sprintf("an output of type %s takes only %s", o.Type, strings.Join(envelope, ", "))
		for _, p := range rest {
			d.unknownKey(p, path, envelope, note)
		}
	default:
		// A missing or unknown type is reported by validation; without it the other keys cannot be checked.
	}
	v.Set(reflect.ValueOf(o))
}

// fields decodes the pairs whose keys name fields of struct v (by yaml tag) and returns the others.
func (d *decoder) fields(pairs []pair, v reflect.Value, path string) (rest []pair) {
	index := fieldIndex(v.Type())
	for _, p := range pairs {
		i, ok := index[p.key.Value]
		if !ok {
			rest = append(rest, p)
			continue
		}
		fp := joinPath(path, p.key.Value)
		d.at[fp] = p
		d.decode(p.value, v.FieldByIndex(i), fp)
	}
	return rest
}

// unknownKey reports a key that names no field of the mapping at path, suggesting the closest known key, or
// else adding note.
func (d *decoder) unknownKey(p pair, path string, known []string, note string) {
	msg := fmt.Sprintf("unknown key %q", p.key.Value)
	if s := closest(p.key.Value, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else if note != "" {
		msg += " (" + note + ")"
	}
	// Not a valueError: the entry at path is still worth validating.
	d.errs = append(d.errs, &Error{Line: p.key.Line, Column: p.key.Column, Path: path, Msg: msg})
}

// pairs returns the key/value pairs of mapping n, with merge keys (<<) resolved: explicit keys win over merged
// ones, and earlier merged mappings over later ones. A key given twice explicitly is an error.
func (d *decoder) pairs(n *yaml.Node, path string) []pair {
	var out, merges []pair
	seen := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := d.resolve(n.Content[i], path), n.Content[i+1]
		switch {
		case k == nil:
			continue
		case k.Kind != yaml.ScalarNode:
			d.valueError(k, path, "a key must be a string, got %s", describe(k))
			continue
		case k.ShortTag() == "!!merge":
			merges = append(merges, pair{k, v})
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.valueError(k, joinPath(path, k.Value), "duplicate key %q (first at line %d)", k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, pair{k, v})
	}
	for _, m := range merges {
		for _, src := range d.mergeSources(m, path) {
			if !d.spend(m.key, path, 1+len(src.Content)/2) {
				return out
			}
			for _, p := range d.pairs(src, path) {
				if _, ok := seen[p.key.Value]; !ok {
					seen[p.key.Value] = p.key
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// mergeSources returns the mappings a merge key's value names: one mapping or a list of them.
func (d *decoder) mergeSources(m pair, path string) []*yaml.Node {
	v := d.resolve(m.value, path)
	if v == nil {
		return nil
	}
	var srcs []*yaml.Node
	switch v.Kind {
	case yaml.MappingNode:
		srcs = []*yaml.Node{v}
	case yaml.SequenceNode:
		for _, item := range v.Content {
			srcs = append(srcs, d.resolve(item, path))
		}
	}
	for _, s := range srcs {
		if s == nil {
			return nil // the alias budget is spent, and that was reported
		}
		if s.Kind != yaml.MappingNode {
			d.valueError(m.key, path, "<< must be given a mapping or a list of mappings")
			return nil
		}
	}
	return srcs
}

// resolve follows an alias to its anchored node, within the alias budget; nil when the budget is spent.
func (d *decoder) resolve(n *yaml.Node, path string) *yaml.Node {
	if n == nil || n.Kind != yaml.AliasNode {
		return n
	}
	if !d.spend(n, path, 1) {
		return nil
	}
	return n.Alias
}

// spend counts work done through aliases, reporting once when the budget runs out.
func (d *decoder) spend(n *yaml.Node, path string, units int) bool {
	if d.aliasWork >= maxAliasWork {
		return false
	}
	d.aliasWork += units
	if d.aliasWork >= maxAliasWork {
		d.valueError(n, path, "too many alias expansions: write the repeated parts out")
		return false
	}
	return true
}

// expectKind reports whether n is of kind, and records an error at pos if not.
func (d *decoder) expectKind(n, pos *yaml.Node, kind yaml.Kind, path, want string) bool {
	if n.Kind == kind {
		return true
	}
	d.valueError(pos, path, "expected %s, got %s", want, describe(n))
	return false
}

// fieldIndex maps the yaml tag names of t's fields to their index paths (reflect.Value.FieldByIndex); fields
// without a tag or tagged "-" are not decoded, and the fields of an embedded struct tagged `yaml:",inline"` are
// t's own.
func fieldIndex(t reflect.Type) map[string][]int {
	index := make(map[string][]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if inline(f) {
			for name, sub := range fieldIndex(f.Type) {
				index[name] = append([]int{i}, sub...)
			}
		} else if name := yamlName(f); name != "" {
			index[name] = []int{i}
		}
	}
	return index
}

// keysOf lists the yaml keys of struct t in declaration order, an inline struct's where it is embedded.
func keysOf(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		if inline(f) {
			keys = append(keys, keysOf(f.Type)...)
		} else if name := yamlName(f); name != "" {
			keys = append(keys, name)
		}
	}
	return keys
}

// inline reports an embedded struct whose fields are decoded as the enclosing struct's (`yaml:",inline"`).
func inline(f reflect.StructField) bool {
	_, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return f.Anonymous && f.Type.Kind() == reflect.Struct && opts == "inline"
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	return name
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// isEmpty reports whether n holds nothing: null, an empty list or an empty mapping.
func isEmpty(n *yaml.Node) bool {
	if n == nil || isNull(n) {
		return true
	}
	return (n.Kind == yaml.SequenceNode || n.Kind == yaml.MappingNode) && len(n.Content) == 0
}
