package processors

import "errors"

// errNotBuilt marks a parser whose implementation has not landed yet.
var errNotBuilt = errors.New("not built yet")

// NewLogfmt returns the logfmt parser.
func NewLogfmt() Parser { return nil }

// NewRegex compiles an RE2 pattern with at least one named group.
func NewRegex(pattern string) (Parser, error) { return nil, errNotBuilt }

// NewJSON returns a parser of JSON objects nested at most maxDepth deep (0: the default, 64); each top-level
// member becomes a field (SetRaw with the member's raw value; strings through SetString, unescaped).
func NewJSON(maxDepth int) Parser { return nil }
