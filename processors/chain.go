package processors

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/fielderr"
)

// Chain is one input's processors, built from its configuration. Process is safe for concurrent use: streams of
// one input are published from several goroutines.
type Chain struct {
	input   string
	steps   []step
	labels  []string        // per step: its kind, with its index when the kind appears more than once
	errors  []atomic.Uint64 // per step: events it failed on
	streams streamCache
	pool    sync.Pool // *scratch
}

// step is one processor, compiled.
type step interface {
	// run processes the event whose fields are in s. It reports whether the event is kept; an error means the
	// processor failed on this event, which is then shipped with error.message (any fields the step set are
	// already undone) and goes on to the next step.
	run(s *scratch, ev *engine.Event) (keep bool, err error)
}

// scratch is the state of one Process call, reused through the chain's pool.
type scratch struct {
	fields   fieldSet
	render   renderer
	arena    arena
	target   targetSetter
	readTime time.Time // when the event was read: event.ingested
	buf      []byte    // a formatted time
	ingested ingestedClock
	times    []timeCache // per step, for timestamp steps

	lastStream  streamKey
	lastMembers *streamMembers
}

// kinds names every processor kind, in the order Config lists them.
var kinds = []string{"parse_json", "parse_logfmt", "parse_regex", "dissect", "parse_preset", "timestamp", "drop",
	"include_lines", "exclude_lines", "add_fields", "drop_fields", "rename"}

// kindOf returns the single kind c sets, or an error saying what is wrong.
func kindOf(c *Config) (string, error) {
	set := []bool{c.ParseJSON != nil, c.ParseLogfmt != nil, c.ParseRegex != nil, c.Dissect != nil,
		c.ParsePreset != nil, c.Timestamp != nil, c.Drop != nil, c.IncludeLines != nil, c.ExcludeLines != nil,
		c.AddFields != nil, c.DropFields != nil, c.Rename != nil}
	var found []string
	for i, ok := range set {
		if ok {
			found = append(found, kinds[i])
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", fmt.Errorf("set one processor kind: one of %s", strings.Join(kinds, ", "))
	default:
		return "", fmt.Errorf("set exactly one processor kind per list item, found %s: make each its own item",
			strings.Join(found, " and "))
	}
}

// parserFactory makes the parsers of the parser kinds; tests replace it with fakes.
type parserFactory func(kind string, c *Config) (Parser, error)

// Build compiles the processors list of the input named input. Its errors are fielderr errors with paths
// relative to the list ("[2].dissect.pattern"), so that the config loader can name the YAML line.
func Build(input string, list []Config) (*Chain, error) {
	return build(input, list, newParser)
}

func build(input string, list []Config, parsers parserFactory) (*Chain, error) {
	c := &Chain{input: input}
	count := make(map[string]int)
	var errs []error
	for i := range list {
		item := fmt.Sprintf("[%d]", i)
		kind, err := kindOf(&list[i])
		if err != nil {
			errs = append(errs, fielderr.Prefix(item, err))
			continue
		}
		count[kind]++
		st, err := newStep(kind, &list[i], parsers)
		if err != nil {
			errs = append(errs, fielderr.Prefix(item, err))
			continue
		}
		if ts, ok := st.(*timestampStep); ok {
			ts.slot = len(c.steps)
		}
		c.steps = append(c.steps, st)
		c.labels = append(c.labels, kind)
	}
	if len(errs) > 0 {
		return nil, fielderr.Join(errs...)
	}
	for i, kind := range c.labels {
		if count[kind] > 1 {
			c.labels[i] = fmt.Sprintf("%s[%d]", kind, i)
		}
	}
	c.errors = make([]atomic.Uint64, len(c.steps))
	c.pool.New = func() any { return &scratch{times: make([]timeCache, len(c.steps))} }
	return c, nil
}

// newStep compiles one processor of the given kind. Its errors' paths start with the kind: "dissect.pattern",
// "include_lines[1]".
func newStep(kind string, c *Config, parsers parserFactory) (step, error) {
	switch kind {
	case "include_lines":
		return newLines(kind, c.IncludeLines, true)
	case "exclude_lines":
		return newLines(kind, c.ExcludeLines, false)
	}
	st, err := newKindStep(kind, c, parsers)
	if err != nil {
		return nil, fielderr.Prefix(kind, err)
	}
	return st, nil
}

// newKindStep is newStep for the kinds whose settings are a block: its errors' paths are relative to it.
func newKindStep(kind string, c *Config, parsers parserFactory) (step, error) {
	switch kind {
	case "parse_json":
		if c.ParseJSON.MaxDepth < 0 {
			return nil, fielderr.New("max_depth", "must not be negative (0 for the default, %d)", DefaultJSONMaxDepth)
		}
		return newParserStep(kind, c.ParseJSON.ParserCommon, c, parsers, c.ParseJSON.KeepMessage)
	case "parse_logfmt":
		return newParserStep(kind, c.ParseLogfmt.ParserCommon, c, parsers, false)
	case "parse_regex":
		return newParserStep(kind, c.ParseRegex.ParserCommon, c, parsers, false)
	case "dissect":
		return newParserStep(kind, c.Dissect.ParserCommon, c, parsers, false)
	case "parse_preset":
		return newParserStep(kind, c.ParsePreset.ParserCommon, c, parsers, false)
	case "timestamp":
		return newTimestamp(c.Timestamp)
	case "drop":
		return newDrop(c.Drop)
	case "add_fields":
		return newAddFields(c.AddFields)
	case "drop_fields":
		return newDropFields(c.DropFields)
	case "rename":
		return newRename(c.Rename)
	}
	return nil, fmt.Errorf("unknown processor kind %q", kind)
}

// Validate reports every problem of list that Build would, without keeping anything.
func Validate(list []Config) error {
	_, err := Build("", list)
	return err
}

// Process runs the chain over ev in place and reports whether the event is kept; a dropped event is still
// published, marked engine.Event.Filtered, so that its position is acknowledged. Process may replace ev.Message,
// ev.Time and ev.Extra with new bytes (never writing into the bytes they held) and adds the members it sets
// (parsed fields, event.ingested, error.message) to ev.Extra, log.* ones to ev.LogExtra; it sets
// ev.ExtraReplacesStream when it merged the stream's members into ev.Extra (doc.go). The new bytes stay
// unmodified until the event is acknowledged. An event no processor changed is left as it was. The event's
// read time (event.ingested) is ev.Time here; the Publisher passes the time it was handed the event instead
// (processAt), since container and API sources set ev.Time to the record's own time.
func (c *Chain) Process(ev *engine.Event) bool {
	return c.processAt(ev, ev.Time)
}

// processAt is Process with read as the event's read time.
func (c *Chain) processAt(ev *engine.Event, read time.Time) bool {
	if c == nil || len(c.steps) == 0 {
		return true
	}
	// Only a chain sets these; a source that refills its events in place may have left a processed event's.
	ev.LogExtra, ev.ExtraReplacesStream, ev.Filtered = nil, false, false
	s := c.pool.Get().(*scratch)
	keep := c.processWith(s, ev, read)
	c.pool.Put(s)
	return keep
}

// processWith is processAt with the scratch s, which it leaves reset.
func (c *Chain) processWith(s *scratch, ev *engine.Event, read time.Time) bool {
	s.readTime = read
	s.fields.load(ev)
	keep, failed := true, false
	for i, st := range c.steps {
		ok, err := st.run(s, ev)
		if err == nil {
			err = s.fields.refused // a step's field left out is its failure
		}
		s.fields.refused = nil
		if err != nil {
			c.errors[i].Add(1)
			// The first failure is the cause: later ones mostly miss what it did not set.
			if !failed {
				s.fields.setError(c.labels[i], err)
				failed = true
			}
		}
		if !ok {
			keep = false
			break
		}
	}
	if keep {
		c.finish(s, ev)
	} else {
		ev.Filtered = true
	}
	s.fields.reset()
	s.render.trim()
	return keep
}

// finish renders the fields into ev, when a processor changed them.
func (c *Chain) finish(s *scratch, ev *engine.Event) {
	f := &s.fields
	if !f.dirty {
		return
	}
	f.settleReserved(ev)
	if ev.Stream != nil {
		if sm := c.streams.get(ev.Stream, s); sm != nil && f.collides(sm) {
			f.mergeStream(sm)
			ev.ExtraReplacesStream = true
		}
	}
	if !f.messageKept() {
		text, _ := f.text(string(messageKey))
		ev.Message = s.arena.copy(text)
	}
	// Rendered straight into the arena: a chunk is cut when the rendering may not fit, which a rendering longer
	// than guessed still does (append moves it to a larger chunk; what was handed out stays where it was).
	buf := s.arena.room(max(renderRoom, 2*len(ev.Message)))
	start := len(buf)
	buf, logEnd := f.renderTop(&s.render, buf)
	s.arena.buf = buf
	ev.LogExtra, ev.Extra = nilIfEmpty(buf[start:logEnd:logEnd]), nilIfEmpty(buf[logEnd:len(buf):len(buf)])
}

// errorKey is the field error.message goes under.
var errorKey = []byte("error")

// renderRoom is the room in the arena a rendering starts with, at least.
const renderRoom = 1 << 10

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// setError records on the event why processor failed on it. An error field that is not an object, which
// error.message would replace, is kept as error_.
func (f *fieldSet) setError(processor string, err error) {
	if i := f.find(string(errorKey)); i >= 0 && !f.entries[i].isObject() {
		f.rename(string(errorKey), "error_")
	}
	start := len(f.vals)
	f.vals = append(f.vals, processor...)
	f.vals = append(f.vals, ": "...)
	f.vals = append(f.vals, err.Error()...)
	// Stored past the bounds: a step that set too many fields fails with this message.
	key := "error.message"
	f.store(unsafe.Slice(unsafe.StringData(key), len(key)), f.vals[start:len(f.vals):len(f.vals)], kindString, true)
}

// ErrorCounts calls fn with the label of each processor of the chain (its kind, with its list index when the
// kind appears more than once: "dissect", "parse_json[3]") and the number of events it failed to process so far.
func (c *Chain) ErrorCounts(fn func(processor string, n uint64)) {
	if c == nil {
		return
	}
	for i, label := range c.labels {
		fn(label, c.errors[i].Load())
	}
}

// arena hands out memory for rendered events: bytes once handed out are never written again, so an event's
// bytes stay as they are until the event is acknowledged, however many events follow. It allocates a chunk at a
// time; a chunk is freed when the last event in it is.
type arena struct {
	buf []byte
}

const arenaChunk = 32 << 10

// copy returns a copy of b in the arena; nil for an empty b.
func (a *arena) copy(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	start := len(a.room(len(b)))
	a.buf = append(a.buf, b...)
	return a.buf[start:len(a.buf):len(a.buf)]
}

// room returns the arena's chunk with at least n bytes free after its end, starting a new chunk when needed.
// The caller appends to it and hands the result back in a.buf.
func (a *arena) room(n int) []byte {
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, max(arenaChunk, n))
	}
	return a.buf
}
