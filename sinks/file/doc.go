// Package file is the file output: newline-delimited JSON appended to a file, fsync'd before acknowledging with
// group commit across batches, optionally rotated by size. It also writes dead-letter files.
//
// Files it creates get the configured mode (default 0600, narrowed by the umask) and directories it creates
// DirMode of it (0700 by default); files that exist keep their mode. It never writes through a symbolic link at the
// path: every open (start, reopen, rotation) uses O_NOFOLLOW and a link is refused with ErrSymlink.
package file
