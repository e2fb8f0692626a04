// Package snapshot replicates the registry (package store) to S3-compatible storage. This file set is its
// foundation: the snapshot object format, how to build one from a registry (Build, Write) and how to verify and
// install one (ReadHeader, Read, HeaderFromMetadata). It makes no network calls; the replicator, history slots and
// the lease build on it.
//
// A snapshot object is complete by itself: `aws s3 cp` of it is a backup, and Read turns it back into a registry
// file. Layout (FormatVersion 1, integers big-endian):
//
//	offset  size  content
//	0       8     Magic "FLICKSNP"
//	8       4     format version (1)
//	12      4     header length N (1 to MaxHeaderSize)
//	16      N     header, a JSON object: epoch, seq, created, writer_id, hostname, instance_id, store_format,
//	              raw_size, raw_sha256, payload_size, payload_sha256 (sha256 as lower-case hex)
//	16+N    4     CRC-32C (Castagnoli) of the header bytes
//	20+N    P     payload: the bbolt file, zstd-compressed (one frame), P = payload_size bytes
//
// Compatibility: a reader rejects a newer format version before parsing anything after it (ErrNewerFormat), so a
// later version may change everything that follows. Within version 1, readers ignore JSON fields they do not
// know, so optional fields may be added; a change an older reader must understand bumps the version.
//
// The header is also stored as object metadata (Header.Metadata, keys flicker-epoch, flicker-seq, ...) so that
// listing snapshots needs HEAD requests only. Metadata describes; only the object's own bytes are verified.
//
// Verification is layered (Read): magic and versions; header CRC; payload size and sha256 (what was uploaded is
// what was downloaded); decompressed size and sha256 (the bbolt image); the image opens as a registry and passes
// bbolt's Tx.Check; its meta (epoch, seq, instance id, format) equals the header's. Epoch and seq in the header are
// read from the copy itself by Build, never taken from the caller, so they must match exactly.
//
// Caveats:
//   - Build needs room in its temp dir for the registry copy plus its compressed form (the copy is removed before
//     Build returns; the compressed one at Snapshot.Close). Use local disk: the registry's read transaction stays
//     open while the copy is written. A process killed mid-build leaves snapshot-* files there; the state dir is
//     ephemeral, and a replicator may remove them at startup.
//   - Memory is bounded for a 128 MiB pod: the compressor runs on one goroutine with a 1 MiB window, the
//     decompressor refuses windows over 16 MiB and never writes more than the header's raw size, which must fit
//     the free space where it is installed, less a margin, and MaxRawSize (ErrTooLarge). Nothing holds a whole
//     registry in memory.
//   - Read replaces dstPath by rename; it must not be a registry that is open.
//   - bbolt files of the same content differ byte for byte between copies, so raw sha256 values identify one copy,
//     not a logical state: compare (epoch, seq) to order snapshots.
package snapshot
