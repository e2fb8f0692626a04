// Package config loads flicker's YAML configuration: strict decoding (unknown keys and wrong types are errors
// with their line), ${VAR} expansion in values, defaults, and validation. Each source and sink package owns its
// config struct with SetDefaults and Validate; this package composes them, adds the line of every field to their
// errors, and checks what spans entries: unique names, dead-letter references, batch and queue bounds. The
// `processors:` key of every input entry is decoded here, not by the source (sources do not know processors), into
// Config.Processors, and checked with processors.Validate.
//
// Caveats:
//   - Expansion happens once, on scalar values after parsing: a value taken from the environment is never
//     expanded again, and keys are never expanded.
//   - Only the first YAML document of a file is a configuration; a second document is an error.
//   - Anchors, aliases and merge keys (<<) are followed; a file whose aliases expand beyond a fixed budget is
//     rejected rather than decoded (billion laughs).
package config
