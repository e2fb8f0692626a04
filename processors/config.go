package processors

// Config is one item of an input's `processors:` list. Exactly one kind is set: the item's single key names it,
// as in `- dissect: {pattern: "..."}`.
type Config struct {
	ParseJSON    *ParseJSONConfig   `yaml:"parse_json"`
	ParseLogfmt  *ParseLogfmtConfig `yaml:"parse_logfmt"`
	ParseRegex   *ParseRegexConfig  `yaml:"parse_regex"`
	Dissect      *DissectConfig     `yaml:"dissect"`
	ParsePreset  *ParsePresetConfig `yaml:"parse_preset"`
	Timestamp    *TimestampConfig   `yaml:"timestamp"`
	Drop         *DropConfig        `yaml:"drop"`
	IncludeLines []string           `yaml:"include_lines"` // RE2 patterns: keep only lines matching one
	ExcludeLines []string           `yaml:"exclude_lines"` // RE2 patterns: drop lines matching one
	AddFields    *AddFieldsConfig   `yaml:"add_fields"`
	DropFields   *DropFieldsConfig  `yaml:"drop_fields"`
	Rename       *RenameConfig      `yaml:"rename"`
}

// ParserCommon are the settings every parser shares: what it reads and where its fields go.
type ParserCommon struct {
	// Field is the field parsed: "message" (the default) or a field set by an earlier processor.
	Field string `yaml:"field"`
	// Target is where the parsed fields go: "" (the default) puts them at the event's top level, any other
	// value puts them under that field.
	Target string `yaml:"target"`
	// IgnoreMissing makes an event without Field pass unchanged instead of counting as a parse error.
	IgnoreMissing bool `yaml:"ignore_missing"`
}

// ParseJSONConfig parses a JSON object: each top-level member becomes a field (a name given twice: the last
// wins; invalid UTF-8 is replaced with U+FFFD). A value that is not one object is a parse error.
type ParseJSONConfig struct {
	ParserCommon `yaml:",inline"`
	// KeepMessage keeps the original message when Field is message and parsing succeeded, unless the object has
	// a message member of its own set at the top level (Target empty): a field set twice keeps its last value.
	// By default a parsed message is replaced by the object's own message member when it has one, else removed.
	KeepMessage bool `yaml:"keep_message"`
	// MaxDepth bounds the nesting of the parsed object (default 64); deeper input is a parse error.
	MaxDepth int `yaml:"max_depth"`
}

// ParseLogfmtConfig parses key=value pairs (logfmt: bare or double-quoted values, bare keys are true).
type ParseLogfmtConfig struct {
	ParserCommon `yaml:",inline"`
}

// ParseRegexConfig parses with an RE2 regular expression (not anchored: use ^ and $ to match whole values); each
// named capture group that took part in the match becomes a string field named after it. A group name cannot
// hold a dot in RE2, so `__` in a name stands for one: `(?P<http__version>[0-9.]+)` sets http.version. A pattern
// without a named group is a config error; a value it does not match is a parse error.
type ParseRegexConfig struct {
	ParserCommon `yaml:",inline"`
	Pattern      string `yaml:"pattern"`
}

// DissectConfig parses with a dissect pattern, Filebeat's tokenizer syntax: `%{key}`, `%{+key}` (append, joined
// by the text before it; `%{+key/2}` orders the parts), `%{?key}` (named skip), `%{}` (skip), `%{*key}`/`%{&key}`
// (reference: the first names a field, the second is its value), `%{key->}` (skip the repeated delimiter after
// the value), and typed values `%{key|integer}` (also long, float, double, boolean, ip, string; "-" or "" leave a
// typed field out, a value that does not convert is a parse error). A field ends at the first occurrence of the
// text after it; text after the pattern's last delimiter is ignored. No regular expressions: dissect is the fast
// parser.
type DissectConfig struct {
	ParserCommon `yaml:",inline"`
	Pattern      string `yaml:"pattern"`
}

// ParsePresetConfig parses one of the common formats by name: apache_common, apache_combined, nginx_combined,
// tomcat_access, syslog (a syslog line written to a file). The fields each sets, with ECS names, and the field
// and layout of its time are listed at NewPreset.
type ParsePresetConfig struct {
	ParserCommon `yaml:",inline"`
	Name         string `yaml:"name"`
}

// TimestampConfig sets @timestamp from a field and keeps the read time as event.ingested.
type TimestampConfig struct {
	Field string `yaml:"field"`
	// Layouts are tried in order: Go layouts, or the names RFC3339, RFC3339Nano, ISO8601 (no zone: Timezone
	// applies), UNIX, UNIX_MS, UNIX_US, UNIX_NS.
	Layouts []string `yaml:"layouts"`
	// Timezone applies to layouts without a zone: an IANA name or UTC (the default).
	Timezone string `yaml:"timezone"`
	// Remove drops Field once it was parsed.
	Remove        bool `yaml:"remove"`
	IgnoreMissing bool `yaml:"ignore_missing"`
}

// DropConfig drops the events the condition holds for.
type DropConfig struct {
	If Condition `yaml:"if"`
}

// Condition tests one field of an event (message by default). Exactly one test is set.
type Condition struct {
	Field    string  `yaml:"field"`
	Equals   *string `yaml:"equals"`   // the field's value, as text (a number's JSON text), equals this
	Contains string  `yaml:"contains"` // the field's text contains this
	Regex    string  `yaml:"regex"`    // the field's text matches this RE2 pattern
	Exists   *bool   `yaml:"exists"`   // the field is (true) or is not (false) set
}

// AddFieldsConfig adds string fields.
type AddFieldsConfig struct {
	Target string            `yaml:"target"` // "" (default): the top level; else under this field
	Fields map[string]string `yaml:"fields"`
}

// DropFieldsConfig removes fields.
type DropFieldsConfig struct {
	Fields        []string `yaml:"fields"`
	IgnoreMissing bool     `yaml:"ignore_missing"`
}

// RenameConfig moves fields.
type RenameConfig struct {
	Fields        []RenamePair `yaml:"fields"`
	IgnoreMissing bool         `yaml:"ignore_missing"`
}

// RenamePair is one field to move.
type RenamePair struct {
	From string `yaml:"from"`
	To   string `yaml:"to"`
}
