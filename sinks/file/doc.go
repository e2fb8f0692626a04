// Package file is the file output: newline-delimited JSON appended to a file, fsync'd before acknowledging with
// group commit across batches, optionally rotated by size. It also writes dead-letter files.
package file
