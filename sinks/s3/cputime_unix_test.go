//go:build unix

package s3out_test

import (
	"syscall"
	"time"
)

// processCPU is the user and system CPU time this process has used; the MinIO server's is not included.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
