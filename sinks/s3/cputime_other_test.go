//go:build !unix

package s3out_test

import "time"

// processCPU is not measured on this platform.
func processCPU() time.Duration { return 0 }
