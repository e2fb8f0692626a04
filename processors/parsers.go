package processors

import "errors"

// errNotBuilt marks a parser whose implementation has not landed yet.
var errNotBuilt = errors.New("not built yet")

// NewRegex compiles an RE2 pattern with at least one named group.
func NewRegex(pattern string) (Parser, error) { return nil, errNotBuilt }
