// Package eventfields renders and checks the `fields` every input may configure, so that each source attaches
// them to its events the same way.
package eventfields

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/flickerlog/flicker/internal/fielderr"
)

// reservedKeys are the event's top-level keys; fields_under_root must not shadow them. error is a malformed
// container line's, dead_letter a dead-lettered event's.
var reservedKeys = map[string]bool{
	"@timestamp": true, "message": true, "id": true, "input": true, "log": true, "fields": true,
	"container": true, "kubernetes": true, "stream": true, "api": true, "error": true, "dead_letter": true,
}

// Render renders the fields once as JSON object members starting with a comma, keys sorted: `,"fields":{...}`,
// or the members themselves with underRoot. Nil when there are none.
func Render(fields map[string]string, underRoot bool) ([]byte, error) {
	if len(fields) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b []byte
	if !underRoot {
		b = append(b, `,"fields":{`...)
	}
	for i, k := range keys {
		if i > 0 || underRoot {
			b = append(b, ',')
		}
		kj, err := json.Marshal(k)
		if err != nil {
			return nil, fmt.Errorf("fields: %w", err)
		}
		vj, err := json.Marshal(fields[k])
		if err != nil {
			return nil, fmt.Errorf("fields.%s: %w", k, err)
		}
		b = append(append(append(b, kj...), ':'), vj...)
	}
	if !underRoot {
		b = append(b, '}')
	}
	return b, nil
}

// Validate reports empty field names and, with underRoot, names that would shadow an event key; the paths are
// relative to the input ("fields.log").
func Validate(fields map[string]string, underRoot bool) []error {
	var errs []error
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch {
		case k == "":
			errs = append(errs, fielderr.New("fields", "empty field name"))
		case underRoot && reservedKeys[k]:
			errs = append(errs, fielderr.New("fields."+k,
				"%q is a reserved top-level key: rename it or set fields_under_root: false", k))
		}
	}
	return errs
}
