package chaos

import (
	"strings"
	"testing"
	"time"
)

func TestSoakFailed(t *testing.T) {
	cases := []struct {
		rec  *soakRecord
		want string
	}{
		{nil, ""},
		{&soakRecord{GoroutinesStart: 22, GoroutinesEnd: 24, FDsStart: 80, FDsEnd: 90}, ""},
		{&soakRecord{GoroutinesStart: 22, GoroutinesEnd: 40, FDsStart: 80, FDsEnd: 80}, "goroutines grew by 18"},
		{&soakRecord{GoroutinesStart: 22, GoroutinesEnd: 22, FDsStart: 80, FDsEnd: 120}, "descriptors grew by 40"},
		{&soakRecord{GoroutinesStart: 22, GoroutinesEnd: 90, Skipped: "pod 3 ended during the soak"}, "soak: pod 3 ended"},
		{&soakRecord{Skipped: "no pod was reading when the soak began"}, "no pod was reading"},
	}
	for _, c := range cases {
		got := c.rec.failed()
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("failed(%+v) = %q, want %q", c.rec, got, c.want)
		}
	}
	if soakDuration(2*time.Minute) != 0 || soakDuration(30*time.Minute) != 5*time.Minute {
		t.Errorf("soakDuration: 2m -> %s, 30m -> %s; want 0 and 5m", soakDuration(2*time.Minute),
			soakDuration(30*time.Minute))
	}
}

// A pod may exit by itself only fenced (exit 3) after a corrupted snapshot, and a SIGTERM must end in exit 0.
func TestBadExits(t *testing.T) {
	corrupt := []faultRecord{{Kind: faultKill9, At: 5}, {Kind: faultCorrupt, At: 40}}
	cases := []struct {
		name   string
		pod    podReport
		faults []faultRecord
		want   string
	}{
		{"killed", podReport{ID: 1, End: endKill9, Exit: -1}, nil, ""},
		{"stopped", podReport{ID: 2, End: endSIGTERM, Exit: 0}, nil, ""},
		{"fenced after a corruption", podReport{ID: 3, End: endExited, Exit: 3, Ended: 41}, corrupt, ""},
		{"stopped with an error", podReport{ID: 4, End: endSIGTERM, Exit: 1}, nil, "pod 4 exited 1 after SIGTERM"},
		{"crashed", podReport{ID: 5, End: endExited, Exit: 2, Ended: 41}, corrupt, "pod 5 exited by itself with code 2"},
		{"fenced before any corruption", podReport{ID: 6, End: endExited, Exit: 3, Ended: 30}, corrupt,
			"pod 6 exited by itself with code 3"},
	}
	for _, c := range cases {
		r := &report{Pods: []podReport{c.pod}, FaultLog: c.faults}
		got := strings.Join(r.badExits(), "; ")
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: badExits = %q, want %q", c.name, got, c.want)
		}
	}
}
