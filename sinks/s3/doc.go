// Package s3out is the s3 output (directory sinks/s3; named s3out so that it does not read as an S3 client): it
// archives events as objects of newline-delimited JSON, compressed with gzip (default), zstd or not at all, in
// a bucket reached through internal/s3client with the same AWS environment and credentials as the registry.
//
// Objects. Events are grouped by their rendered prefix (default "%{input}/%{+yyyy/MM/dd/HH}/": the input name
// and the hour of the event's @timestamp in UTC). Each prefix has at most one open object, which is cut when
// the next event would take its NDJSON body (before compression) or the queue bytes its events hold past
// max_object_bytes, max_object_age after its first event, and by Flush and Close. At most max_open_objects
// (default 16) are open: opening one more cuts the one that took an event least recently. Open objects of all
// prefixes together hold at most max_object_bytes of the queue and, once the caller gave the queue's bounds
// (SetQueueLimits), less than half its events and half its bytes: past that, the largest is cut early, so the
// queue always has room for the events that fill the open objects and the source never waits for an age cut.
// The key is
//
//	<prefix><id of the first event>-<16 hex digits: a hash of every event id in order><.ndjson.gz|.ndjson.zst|.ndjson>
//
// with Content-Type application/x-ndjson and Content-Encoding gzip or zstd.
//
// Guarantees:
//   - An event is accepted only once the single PUT of the object holding it succeeded. A failed PUT marks the
//     object's events for retry; the engine sends them again and they go into a later object. A batch is
//     released once every object holding some of its events was settled (a batch cut by size spans two).
//   - A replay of the same events with the same cuts writes the same keys, overwriting the objects. Objects
//     holding different events never share a key (the hash of the ids), so an overwrite never loses an event
//     that only the older object held; duplicates are limited to events that were not acknowledged, and to
//     replays whose cuts differ (age cuts, or an hour boundary when @timestamp is the read time).
//   - Only s3:PutObject on the prefix is needed: no List, Head or Delete.
//
// Caveats:
//   - Objects have no order among themselves: uploads run in parallel (up to 4) and keys sort by id, not time.
//     Within an object each stream's events keep their order, except events sent again after a retry.
//   - Memory: each open object keeps its body in memory (never a temporary file): its first 64 KiB of NDJSON
//     as they are, then compressed through a compressor of its own (gzip: a few hundred KiB; zstd: over 1 MiB
//     with its 2 MiB window). So at most max_open_objects compressors are in use, plus a few spares; a sealed
//     object hands its compressor back and keeps its compressed body only, until its PUT ends. Compression runs
//     in Write (or in the age cut), in the output's worker goroutine.
//   - The engine waits for held batches before it closes its sinks. A pipeline that does not call Flush when
//     it starts draining waits up to max_object_age for the last objects to be cut.
//   - Some HTTP clients (browsers, Go's net/http with compression enabled) honour Content-Encoding and hand
//     back the decompressed NDJSON; aws s3 cp and minio-go return the stored bytes.
package s3out
