package processors

import (
	"errors"
	"fmt"
	"slices"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/fielderr"
)

// addFieldsStep sets string fields (AddFieldsConfig), in the order of their names.
type addFieldsStep struct {
	keys []string // with the target
	vals [][]byte
}

func newAddFields(c *AddFieldsConfig) (step, error) {
	if len(c.Fields) == 0 {
		return nil, fielderr.New("fields", "add at least one field (name: value)")
	}
	names := make([]string, 0, len(c.Fields))
	for name := range c.Fields {
		if name == "" {
			return nil, fielderr.New("fields", "a field name is empty")
		}
		names = append(names, name)
	}
	slices.Sort(names)
	a := &addFieldsStep{}
	for _, name := range names {
		key := name
		if c.Target != "" {
			key = c.Target + "." + name
		}
		a.keys = append(a.keys, key)
		a.vals = append(a.vals, []byte(c.Fields[name]))
	}
	return a, nil
}

func (a *addFieldsStep) run(s *scratch, ev *engine.Event) (bool, error) {
	for i, key := range a.keys {
		s.fields.put(s.fields.appendKey("", key), a.vals[i], kindString)
	}
	return true, nil
}

// dropFieldsStep removes fields and everything under them (DropFieldsConfig).
type dropFieldsStep struct {
	fields        []string
	ignoreMissing bool
}

func newDropFields(c *DropFieldsConfig) (step, error) {
	if len(c.Fields) == 0 {
		return nil, fielderr.New("fields", "list at least one field to drop")
	}
	var errs []error
	for i, name := range c.Fields {
		if err := checkEditable(name); err != nil {
			errs = append(errs, fielderr.New(fmt.Sprintf("fields[%d]", i), "%v", err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &dropFieldsStep{fields: c.Fields, ignoreMissing: c.IgnoreMissing}, nil
}

// checkEditable refuses a field name that cannot name a field. Names the encoder writes itself (id, input,
// log.offset) are fine: they name the fields a processor set there (parse_json's id member), never the
// encoder's own members.
func checkEditable(name string) error {
	if name == "" {
		return errors.New("a field name is empty")
	}
	return nil
}

// run drops the fields; when one is missing (and not ignore_missing) it puts back those it dropped already, so
// that a failed step leaves the fields as they were (step).
func (d *dropFieldsStep) run(s *scratch, ev *engine.Event) (bool, error) {
	entries, journal := s.fields.mark()
	for _, name := range d.fields {
		if !s.fields.delete(name) && !d.ignoreMissing {
			s.fields.undo(entries, journal)
			return true, &errMissing{field: name}
		}
	}
	return true, nil
}

// renameStep moves fields, with everything under them (RenameConfig). A field already at the new name is
// replaced.
type renameStep struct {
	pairs         []RenamePair
	ignoreMissing bool
}

func newRename(c *RenameConfig) (step, error) {
	if len(c.Fields) == 0 {
		return nil, fielderr.New("fields", "list at least one field to rename (from: old, to: new)")
	}
	var errs []error
	for i, p := range c.Fields {
		if err := checkEditable(p.From); err != nil {
			errs = append(errs, fielderr.New(fmt.Sprintf("fields[%d].from", i), "%v", err))
		}
		if err := checkEditable(p.To); err != nil {
			errs = append(errs, fielderr.New(fmt.Sprintf("fields[%d].to", i), "%v", err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &renameStep{pairs: c.Fields, ignoreMissing: c.IgnoreMissing}, nil
}

// run renames the fields; when one is missing (and not ignore_missing) it undoes the renames done already, so
// that a failed step leaves the fields as they were (step).
func (r *renameStep) run(s *scratch, ev *engine.Event) (bool, error) {
	entries, journal := s.fields.mark()
	for _, p := range r.pairs {
		if !s.fields.rename(p.From, p.To) && !r.ignoreMissing {
			s.fields.undo(entries, journal)
			return true, &errMissing{field: p.From}
		}
	}
	return true, nil
}
