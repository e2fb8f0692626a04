package chaos

import (
	"strings"
	"testing"
	"time"
)

func TestSoakGrowth(t *testing.T) {
	cases := []struct {
		rec  *soakRecord
		want string
	}{
		{nil, ""},
		{&soakRecord{GoroutinesStart: 22, GoroutinesEnd: 24, FDsStart: 80, FDsEnd: 90}, ""},
		{&soakRecord{GoroutinesStart: 22, GoroutinesEnd: 40, FDsStart: 80, FDsEnd: 80}, "goroutines grew by 18"},
		{&soakRecord{GoroutinesStart: 22, GoroutinesEnd: 22, FDsStart: 80, FDsEnd: 120}, "descriptors grew by 40"},
		{&soakRecord{GoroutinesStart: 22, GoroutinesEnd: 90, Skipped: "pod 3 ended during the soak"}, ""},
	}
	for _, c := range cases {
		got := c.rec.grew()
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("grew(%+v) = %q, want %q", c.rec, got, c.want)
		}
	}
	if soakDuration(2*time.Minute) != 0 || soakDuration(30*time.Minute) != 5*time.Minute {
		t.Errorf("soakDuration: 2m -> %s, 30m -> %s; want 0 and 5m", soakDuration(2*time.Minute),
			soakDuration(30*time.Minute))
	}
}
