// Package store is flicker's registry: where each input left off (file identities and byte offsets, API cursors),
// kept in one bbolt file.
//
// Layout (format version 3):
//
//	meta     format, instance_id, epoch, seq, updated   (numbers as 8-byte big-endian), params_key (params.go)
//	files    input + 0x00 + device + inode (8 bytes BE each)  ->  version byte + compact binary FileRecord
//	cursors  input                                            ->  version byte + JSON CursorRecord (v2: params
//	                                                               as a keyed hash; v1, params in clear, is
//	                                                               sealed and the file compacted on Open)
//	outputs  input + 0x00 + stream key                        ->  version byte + positions by output (outputs.go;
//	                                                               created by the first put, so no format change)
//	outputids  a bucket per input + 0x00 + stream key: event id  ->  version byte + output names (outputids.go;
//	                                                               the same)
//
// Writes are cheap and asynchronous: PutFile, DeleteFile, PutCursor and DeleteInput only record the latest value
// per key in memory. One writer goroutine, owned by the DB, commits everything that changed in a single bbolt
// transaction every Options.CommitInterval, and increments seq in that same transaction, so seq counts commits and
// keeps increasing across restarts (and, through Import, across restores). Flush commits now and returns once the
// commit is durable. Reads (Files, AllFiles, Cursor, Export, WriteSnapshot) see committed state only.
//
// In local mode the file is fsync'd on every commit (bbolt's default), so a killed process leaves one of the
// committed states. With Options.NoSync (S3 mode) the file lives on ephemeral disk and its durable copy is the
// snapshot: whoever opens it after a crash must check it (Tx.Check) and fall back to the snapshot.
//
// Older formats (1 and 2) are migrated on Open in one transaction (see migrate.go); a newer format than this build
// knows is refused with ErrFormat and the file is left untouched.
//
// Caveats:
//   - Bytes returned by bbolt are valid only inside their transaction: this package copies every key and value out
//     before a transaction ends, and callers never see bbolt memory.
//   - bbolt's DB.Batch may run its function more than once (and alone after a failure), so any function given to it
//     must be idempotent. This package does not use Batch: its writer coalesces in memory instead, which is also
//     faster for a single writer.
//   - A long read transaction (WriteSnapshot into a slow writer) keeps old pages from being reused and can delay a
//     remap; write snapshots into memory or a local temp file, then upload.
//   - The bbolt file lock (flock) is per open file, so a second Open of the same path fails with ErrLocked even in
//     the same process, and it protects one node only: across machines the S3 lease does.
//   - A commit that fails (disk full) keeps its changes queued and is retried on the next interval; Flush and Close
//     return the error.
package store
