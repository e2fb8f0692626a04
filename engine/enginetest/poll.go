package enginetest

import (
	"testing"
	"time"
)

// Eventually polls cond every millisecond until it is true, and fails the test with msg when timeout passes
// first. Tests wait with it instead of sleeping.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, msg)
		}
		time.Sleep(time.Millisecond)
	}
}

// Receive returns the next value of ch, failing the test when timeout passes first.
func Receive[T any](t testing.TB, timeout time.Duration, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(timeout):
		t.Fatalf("after %s: nothing received", timeout)
	}
	panic("unreachable")
}
