// Package file is the log-file source: glob discovery, tailing, rotation and truncation handling, identity by
// inode and fingerprint, line splitting, multi-line joining and decoding.
package file
