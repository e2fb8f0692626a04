// Package file is the log-file source: glob discovery, tailing, rotation and truncation handling, identity by
// device, inode, birth time and fingerprint, line splitting, multi-line joining and decoding, and the format
// layer the container sources read through.
//
// One goroutine per input (Source.Run) evaluates the globs every scan_interval and reads the open files in
// round-robin turns of at most 256 KiB each, so that many busy files progress fairly without a goroutine per
// file. Read data goes into append-only 1 MiB arena chunks: complete UTF-8 lines, and container messages whole in
// one record whose content the format takes from the line, are published as slices of them (no copy, no
// allocation per line); decoded and joined messages are appended to a second arena. A chunk is
// reused (up to 8 spare ones are kept) only once nothing can read it: every event with bytes in it acknowledged
// through its stream (also a stale one), no partial line in it, and not an arena's current chunk (see chunk).
// Chunks of events that are never acknowledged are left to the garbage collector.
//
// Identity and positions: a file is its device and inode, its birth time where the filesystem reports it (statx),
// and the sha256 of its first 1 KiB (a shorter file's fingerprint is matched as a prefix and extended as it
// grows). Within a run two files differ when device, inode or birth time differ. A stored state is resumed only
// when inode, birth time (where both are known) and fingerprint match; a changed device is accepted only at the
// state's path (a renumbered mount). The same inode with other content or another birth time is a new file (next
// generation). A state with an unknown fingerprint (migrated from format 1, or imported) matches the file with
// its inode that is at least as long as its offset; its fingerprint, device and birth time are then filled in. Positions in the Registry are acknowledged
// positions only: the engine calls the stream's ack function, and only then is the offset saved.
//
// Rotation: a renamed or deleted file keeps its handle and is read to its end. A deleted file is released once
// it is at its end; a renamed one (whose writer may still append to it) after close_inactive without growth,
// like any other file. Files that disappeared with unread data (also while flicker was down) are looked for by
// identity in the directories of the globs and of known files; exclude still applies. Truncation (size below the
// read position, or different first bytes) restarts the file at 0 in a new generation. When the truncated file
// was copied first (copytruncate), the copy is read on from the file's position instead of losing or repeating
// what the copy holds (see copytruncate.go); otherwise the truncation is logged at warn level with the bytes lost.
//
// Container logs (Config.Format, see format.go): each line is decoded by an Options.Formats decoder, partial
// records are joined per stream, and an event's position is the latest one that no message straddles, so that a
// restart never reads half of a message; such streams keep no per-output positions.
//
// Event ids: see streamSeed. Caveats:
//   - A symlink that a glob matches is read only with follow_symlinks (logged once at info level otherwise), and
//     without it every open uses O_NOFOLLOW, so a link swapped in after a check is refused too. Directories,
//     named pipes, sockets, devices and symlink loops that a glob matches are skipped and logged once per path
//     (directories at debug level); a named pipe is not opened (one swapped in after the check is opened without
//     blocking and let go). Without follow_symlinks, a registry state outside the globs' base directories (a
//     link's target recorded by a run that followed links) is not searched for.
//   - With follow_symlinks, a file found through a symlink is tracked, and searched for after rotation, where its
//     target lives (the registry's path); log.file.path is the path where it was found when its stream started
//     (the glob match, not the target). A rename within the watched set updates the registry's path, not the
//     events'.
//   - Where the filesystem reports no birth time (logged once per input), a file deleted and recreated on the same
//     inode with the same first 1 KiB while flicker is stopped is taken for the old one.
//   - A closed file that the globs no longer match (renamed away) is followed where it was last found, one stat
//     per scan, for as long as it stays in a watched directory: later writes to it are read.
//   - Invalid UTF-8 is passed through and replaced by the encoders; invalid UTF-16 is replaced here (counted).
//     A UTF-16 newline is recognised at any byte offset, so that a stray odd byte damages one line (its odd byte
//     becomes U+FFFD) instead of misaligning the rest of the file (see splitter.index).
package file
