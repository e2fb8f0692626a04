package processors

// Setter receives the fields a parser finds in one value, in the order it finds them. Keys are dotted paths
// ("http.request.method"); a key set twice keeps the last value. The value bytes may alias the parsed input:
// the Setter copies what it keeps before the parser returns.
type Setter interface {
	// SetString sets key to the string val (any bytes: escaped, and invalid UTF-8 replaced, when rendered).
	SetString(key string, val []byte)
	// SetRaw sets key to raw, one complete and valid JSON value (object, array, number, string, true, false or
	// null) with no name twice in any of its objects, taken as is.
	SetRaw(key string, raw []byte)
}

// Parser reads the fields of one value: a line, or the string value of a field. Parse reports an error, naming
// what did not match and where, when the value does not have the parser's format; the fields it set before the
// error are then discarded by the caller. Parse never writes into the value it reads (the field set keeps
// values that lie in it without a copy). A Parser is safe for concurrent use: per-call state lives in the call.
type Parser interface {
	Parse(val []byte, out Setter) error
}
