package file_test

import (
	"os"
	"syscall"
)

func statInode(fi os.FileInfo) uint64 { return fi.Sys().(*syscall.Stat_t).Ino }
