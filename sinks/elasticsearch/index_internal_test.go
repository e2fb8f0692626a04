package elasticsearch

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestParseIndexRenders(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 8, time.FixedZone("UTC-9", -9*3600)) // 2026-03-04T14:06:07Z
	tests := []struct{ pattern, want string }{
		{"logs", "logs"},
		{"logs-%{+yyyy.MM.dd}", "logs-2026.03.04"},
		{"logs-%{+YYYY.MM.dd}", "logs-2026.03.04"},
		{"%{+yyyy}", "2026"},
		{"a-%{+yy}-%{+MM}x", "a-26-03x"},
		{"x-%{+yyyy.MM.dd.HH.mm.ss}", "x-2026.03.04.14.06.07"},
		{"x-%{+yyyyMMddHH}", "x-2026030414"},
		{"percent%sign", "percent%sign"},
	}
	for _, tt := range tests {
		p, err := parseIndex(tt.pattern)
		if err != nil {
			t.Errorf("%s: %v", tt.pattern, err)
			continue
		}
		if got := string(p.appendName(nil, at)); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.pattern, got, tt.want)
		}
	}
}

func TestParseIndexRefuses(t *testing.T) {
	tests := []struct{ pattern, want string }{
		{"", "required"},
		{"Logs", "lower case"},
		{"logs-%{+yyyy/MM}", `cannot contain "/"`},
		{"logs-%{input}", "unsupported placeholder %{input}"},
		{"logs-%{+}", "unsupported placeholder"},
		{"logs-%{+yyyy.MM.dd", "unterminated"},
		{"logs-%{+yyyy.MMM}", `unsupported date token "MMM"`},
		{"logs-%{+DD}", `unsupported date token "DD"`},
		{"_logs", "cannot start with"},
		{"-logs", "cannot start with"},
		{".", "cannot be named"},
		{"..", "cannot be named"},
		{"a b", `cannot contain " "`},
		{"a,b", `cannot contain ","`},
		{"a#b", `cannot contain "#"`},
		{"a:b", `cannot contain ":"`},
		{"a\x01", "control characters"},
		{strings.Repeat("a", 250) + "-%{+yyyy.MM}", "limited to 255 bytes"},
	}
	for _, tt := range tests {
		_, err := parseIndex(tt.pattern)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%.40q: error %v, want one with %q", tt.pattern, err, tt.want)
		}
	}
}

// TestSlotsMatchNames: two times share a slot exactly when they render the same name, before and after 1970.
func TestSlotsMatchNames(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, pattern := range []string{"d-%{+yyyy.MM.dd}", "h-%{+yyyy.MM.dd.HH}", "m-%{+mm}", "s-%{+ss}", "y-%{+yyyy}"} {
		p, err := parseIndex(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, base := range []int64{-86400 * 3, 1795255200} {
			for range 2000 {
				t1 := time.Unix(base+rng.Int64N(3*86400), rng.Int64N(1e9))
				t2 := t1.Add(time.Duration(rng.Int64N(int64(4 * time.Hour))))
				sameName := string(p.appendName(nil, t1)) == string(p.appendName(nil, t2))
				// A span coarser than the name (y-%{+yyyy} uses daily slots) may only split equal names.
				if p.slot(t1) == p.slot(t2) && !sameName {
					t.Fatalf("%s: %s and %s share a slot but not a name", pattern, t1, t2)
				}
				if pattern != "y-%{+yyyy}" && pattern != "m-%{+mm}" && pattern != "s-%{+ss}" && sameName &&
					p.slot(t1) != p.slot(t2) {
					t.Fatalf("%s: %s and %s share a name but not a slot", pattern, t1, t2)
				}
			}
		}
	}
}

// TestIndexClampsLikeTimestamp: times outside years 0-9999 give the name of the instant @timestamp shows.
func TestIndexClampsLikeTimestamp(t *testing.T) {
	p, err := parseIndex("logs-%{+yyyy.MM.dd.HH}")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(12000, 6, 1, 0, 0, 0, 0, time.UTC), "logs-9999.12.31.23"},
		{time.Date(-5, 6, 1, 0, 0, 0, 0, time.UTC), "logs-0000.01.01.00"},
		{time.Time{}, "logs-0001.01.01.00"},
	} {
		if got := string(p.appendName(nil, c.t)); got != c.want {
			t.Errorf("%s: %s, want %s", c.t, got, c.want)
		}
	}
}
