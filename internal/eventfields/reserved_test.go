package eventfields_test

import (
	"testing"

	"github.com/flickerlog/flicker/internal/eventfields"
)

// fields_under_root may not shadow a member flicker writes itself: error (a malformed container line's reason)
// and dead_letter (a dead-lettered event's) included; the event would hold the name twice.
func TestFieldsUnderRootMayNotShadowErrorOrDeadLetter(t *testing.T) {
	for _, key := range []string{"error", "dead_letter", "message"} {
		if errs := eventfields.Validate(map[string]string{key: "x"}, true); len(errs) == 0 {
			t.Errorf("fields_under_root with %q accepted", key)
		}
		if errs := eventfields.Validate(map[string]string{key: "x"}, false); len(errs) != 0 {
			t.Errorf("fields (not under root) with %q refused: %v", key, errs)
		}
	}
}
