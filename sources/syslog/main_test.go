package syslog_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every connection goroutine ends with Run.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
