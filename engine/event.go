package engine

import (
	"time"
)

// Input describes one configured input; every stream of the input points to it.
type Input struct {
	Name string // the configured name, stable: registry state is keyed by it
	Type string // "file", "container", "api"
	// FieldsJSON holds the configured fields rendered once as JSON object members, starting with a comma:
	// `,"fields":{"env":"prod"}`, or `,"env":"prod"` with fields_under_root. Empty when there are none.
	FieldsJSON []byte
}

// Stream is one ordered sequence of events checkpointed together: a file, a container log, an API cursor, or one
// request of a push source. Sources create streams with NewStream; the engine tracks their acknowledgements.
type Stream struct {
	Input *Input
	// Path is log.file.path in the encoded event; empty for streams that are not files.
	Path string
	// Extra holds additional top-level JSON members rendered once, starting with a comma, such as
	// `,"container":{"id":"..."}` or `,"api":{"endpoint":"..."}`. Empty when there are none.
	Extra []byte
	// IDSeed is mixed with an event's Offset to derive its id when the event carries none. File sources set it
	// from the input name, file fingerprint and truncation generation (see SeedID).
	IDSeed [16]byte
	// Key names the stream within its input across restarts, for per-output positions (Options.OutputPositions):
	// a source sets it only when a restart re-reads the same events with the same positions (one generation of
	// a file), or, with ByID, the same events with the same ids. Streams without a Key have none: after a
	// restart every output receives what was not committed.
	Key string
	// ByID says that the stream's positions do not name the same events from one run to the next (an API
	// stream counts from 0 in every run) but its events' IDs do: per-output progress is then kept as the ids
	// each output accepted beyond the committed position (Options.OutputIDs), never as positions. Needs Key.
	ByID bool
	// Dropped, when set, is told of each event of the stream that an output rejected without a dead letter to
	// take it (the event is done, and lost): its position and the output's reason. It is called before the
	// event's ack, from the output's goroutine, possibly from several outputs at once; it must be quick. A push
	// source uses it to tell its sender that part of a request was not delivered.
	Dropped func(pos int64, reason error)

	ack func(pos int64)
	// track is the acknowledgement-tracking state: sequence numbers and the ring of pending events.
	track streamTrack
}

// Rekey gives the stream a new Key, moving the per-output positions kept under the old one: the same events at
// the same positions will be read under key after a restart (a file source whose stream goes on in a copy of the
// file, logrotate's copytruncate: the copy's identity names the stream from then on). It must be called from the
// goroutine that publishes the stream's events.
func (s *Stream) Rekey(key string) {
	s.track.mu.Lock()
	defer s.track.mu.Unlock()
	if !s.track.loaded.Load() && s.track.loadKey == "" {
		s.track.loadKey = s.Key // not loaded yet: the first Publish loads them under it, then moves them
	}
	s.Key = key
	if s.track.outs != nil {
		s.track.outs.rekey(key, s.track.acked, s.track.didAck)
	}
}

// NewStream returns a stream of input in whose acknowledged positions are reported to ack. ack is called under
// the stream's lock with strictly increasing positions, each the position after the last event of a contiguous
// run of done events, from an output's goroutine or, when filtered events complete the run, from the Publish
// call that published them; it must be fast and must not block (record the position; persist it elsewhere).
func NewStream(in *Input, ack func(pos int64)) *Stream {
	return &Stream{Input: in, ack: ack}
}

// Event is one log event travelling through the pipeline. Events are passed by value into Publish; the engine
// copies the struct, not the Message bytes.
type Event struct {
	// Time is @timestamp: the read time unless a parser found the event's own time.
	Time time.Time
	// Message is the event text. Invalid UTF-8 is replaced when encoding, never dropped.
	Message []byte
	// Stream is the stream the event belongs to; required.
	Stream *Stream
	// Offset is log.offset: where the event starts in its stream. Negative when the stream has no offsets.
	Offset int64
	// Pos is the stream position after this event: the stream's checkpoint once the event is done everywhere.
	// Positions increase within a stream in publish order.
	Pos int64
	// ID is the event id when the source has one (an API item's own id); otherwise the id is derived from
	// Stream.IDSeed and Offset.
	ID []byte
	// Extra holds per-event top-level JSON members rendered by the source, starting with a comma, such as
	// `,"stream":"stderr"`. Empty when there are none.
	Extra []byte
	// LogExtra holds members written inside the event's "log" object after the ones the encoder writes (file
	// path, offset), starting with a comma, such as `,"level":"warn"`: a processor's log.* fields. Usually empty.
	LogExtra []byte
	// ExtraReplacesStream says that Extra already holds the stream's members (Stream.Extra) and the input's
	// configured fields (Input.FieldsJSON) merged with the event's own, so the encoder writes Extra in place of
	// all three: a processor sets it when a field it sets shares a top-level name with one of them.
	ExtraReplacesStream bool
	// Filtered marks an event a processor dropped. It is published like any other, so that its position is
	// acknowledged in order, but sent to no output, never counted as shipped (Stats.Filtered counts it), and
	// never told to Stream.Dropped. It holds its room in the queue until its stream's acknowledgement passes it:
	// the publisher lets go of its Message and counts the bytes in Held, so that room covers what its source
	// still holds.
	Filtered bool
	// Held counts bytes the event no longer references but its source keeps until the event is acknowledged
	// (the line a processor dropped or replaced, still in the file source's read buffer or the API source's
	// page), so that the queue's byte bound covers them. Zero unless a processor let go of the event's bytes.
	Held int64

	seq  uint64 // assigned by the stream at publish; orders acknowledgements
	skip uint64 // outputs (one bit per index) that accepted the event in an earlier run: it is not sent to them
}

// Size is what the event counts against the queue's byte bound: its variable-length bytes plus a fixed overhead
// for the struct and its bookkeeping.
func (e *Event) Size() int64 {
	return int64(len(e.Message)+len(e.ID)+len(e.Extra)+len(e.LogExtra)) + e.Held + eventOverhead
}

// eventOverhead approximates the bytes an event costs beyond its variable-length fields: the Event struct in the
// queue and batches plus its tracking entry.
const eventOverhead = 160
