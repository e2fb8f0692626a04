package processors

import "github.com/flickerlog/flicker/engine"

// Chain is one input's processors, built from its configuration. Process is safe for concurrent use: streams of
// one input are published from several goroutines.
type Chain struct {
	input string
}

// Build compiles the processors list of the input named input. Its errors are fielderr errors with paths
// relative to the list ("[2].dissect.pattern"), so that the config loader can name the YAML line.
func Build(input string, list []Config) (*Chain, error) {
	return &Chain{input: input}, nil
}

// Validate reports every problem of list that Build would, without keeping anything.
func Validate(list []Config) error {
	_, err := Build("", list)
	return err
}

// Process runs the chain over ev in place and reports whether the event is kept; a dropped event is still
// published, marked engine.Event.Filtered, so that its position is acknowledged. Process may replace ev.Message,
// ev.Time and ev.Extra with new bytes (never writing into the bytes they held) and adds the members it sets
// (parsed fields, event.ingested, error.message) to ev.Extra.
func (c *Chain) Process(ev *engine.Event) bool {
	return true
}

// ErrorCounts calls fn with the label of each processor of the chain (its kind, with its list index when the
// kind appears more than once: "dissect", "parse_json[3]") and the number of events it failed to process so far.
func (c *Chain) ErrorCounts(fn func(processor string, n uint64)) {}
