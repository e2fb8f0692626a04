package miniotest

import "syscall"

// sysProcAttr puts the server in its own process group, so a ^C to the test run reaches it only through
// the cleanup, and has the kernel kill it if the test binary dies without cleaning up (a test timeout).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
