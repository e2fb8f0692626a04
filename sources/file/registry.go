package file

import (
	"time"
)

// FingerprintSize is how many leading bytes of a file its fingerprint covers once the file is that long.
const FingerprintSize = 1024

// State is the persisted read position of one file, keyed by input name, device and inode.
type State struct {
	Inode uint64
	// Device is 0 when unknown (a record from before format 3 of the store). Across restarts a file on another
	// device is accepted only at the state's Path (a renumbered mount).
	Device uint64
	Path   string // where the file was last found; for a file found through a symlink, where the target lives
	// Offset is the acknowledged position: every event before it is done in every output.
	Offset int64
	Size   int64 // the size last observed
	// Generation counts truncations (and content replacements on the same inode); it is part of event ids.
	Generation uint32
	// Fingerprint is the sha256 of the file's first FingerprintLen bytes (at most FingerprintSize); while the
	// file is shorter it is matched as a prefix and extended as the file grows.
	// FingerprintLen 0 is an empty file's or an unknown fingerprint (migrated or imported without one): the state
	// matches the file with its identity that is at least Offset bytes long, and is then filled in.
	Fingerprint    [32]byte
	FingerprintLen int
	LastSeen       time.Time
	// Birth is the file's creation time where the filesystem reports it (statx btime), zero when unknown. A file
	// with another birth time is another file (its inode was reused), whatever its content.
	Birth time.Time
}

// Registry is where the source keeps its read positions; cmd/flicker adapts the store package to it.
type Registry interface {
	// Load returns the states saved for input. The source calls it once, at the start of Run.
	Load(input string) ([]State, error)
	// Save records st, replacing the state of the same device and inode. The source calls it on acknowledgement
	// (from the engine's output goroutines) and when a file's identity, path or generation changes; it must not
	// block long.
	Save(input string, st State)
	// Remove forgets the state of (device, inode), and the positions kept per output for its streams (see
	// StreamKeyPrefix): for files gone longer than clean_removed_after, and for the old key of a state whose
	// device changed.
	Remove(input string, device, inode uint64)
}

// OutputPositionsMover is implemented by a Registry that keeps the per-output positions of streams: a stream read
// again after a restart under another key (the copy of a file copied and truncated while flicker was down goes on
// with the file's stream) takes the positions stored under the old key with it.
type OutputPositionsMover interface {
	MoveOutputPositions(input, from, to string) error
}

// Options are run-time choices that are not part of the configuration.
type Options struct {
	// Once makes Run read what the files hold when it starts, up to their size at that moment, then return nil.
	Once bool
	// Now is the clock for event times and ages (close_inactive, clean_removed_after, multiline timeout); nil
	// means time.Now.
	Now func() time.Time
	// InputType is the input's type in events ("container" for docker_containers); "file" when empty.
	InputType string
	// Formats are the container log formats Config.Format may name (format: auto tries each in order).
	Formats []Format
	// Streams, when not empty, keeps only the records of these container streams (stdout, stderr); the others
	// are read and skipped.
	Streams []string
	// Admit, when set, is asked whether a file the globs match is read at all (container filters); a file it
	// refuses is skipped like an excluded one. Called from the reader goroutine at every scan.
	Admit func(path string) bool
	// Meta, when set, returns JSON members (starting with a comma) that every event of a container log file
	// carries, such as `,"container":{"id":"..."}`. Called when the file's first record is read and again at
	// every scan while it is open: a changed answer applies to the events read after it.
	Meta func(path string) []byte
}

// Stats are the source's counters since New.
type Stats struct {
	Events          uint64 // events published
	Lines           uint64 // lines (and long-line pieces) read, before multi-line joining
	Bytes           uint64 // raw bytes consumed by published events
	LongLinePieces  uint64 // events cut at max_line_bytes
	MultilineSplits uint64 // multi-line events cut at max_lines or max_bytes
	InvalidEncoding uint64 // invalid UTF-16 code units replaced with U+FFFD
	Truncations     uint64 // truncations and content replacements seen on an open or known file
	// TruncatedBytesLost counts bytes that were known to exist (by the last stat) but not yet read when a
	// truncation was seen. Bytes written and truncated between two observations cannot be counted.
	TruncatedBytesLost uint64
	// MissingBytesLost counts bytes that were known to exist (by the registry or the last stat) but not yet read
	// in a file searched for by identity and not found (deleted, moved out of the watched directories or
	// excluded, typically while flicker was down), once per file. Bytes written after that stat cannot be counted.
	MissingBytesLost uint64
	// PartialBytesDropped counts unterminated last lines dropped when a file was released without
	// flush_partial_on_close (or truncated under it).
	PartialBytesDropped uint64
	// Malformed counts lines a container log format could not decode: they are shipped raw with error.message.
	Malformed    uint64
	FilesOpen    int64 // open handles now
	FilesTracked int64 // files known now (open or not)
	// ChunksAllocated counts the 1 MiB arena chunks (and oversized buffers) allocated for read data and
	// messages; ChunksReused those taken again from the chunks freed by acknowledgements instead.
	ChunksAllocated, ChunksReused uint64
}
