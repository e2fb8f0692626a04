//go:build !linux

package miniotest

import "syscall"

// sysProcAttr puts the server in its own process group, so a ^C to the test run reaches it only through
// the cleanup.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
