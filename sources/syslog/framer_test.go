package syslog_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/flickerlog/flicker/sources/syslog"
)

func TestFraming(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		max     int
		frames  []string
		cut     []bool
		errText string
	}{
		{"octet counting", "5 hello3 abc11 <13>x\ny z w", 100, []string{"hello", "abc", "<13>x\ny z w"}, []bool{false, false, false}, ""},
		{"newline", "<13>a\n<13>b\r\n\n<13>c", 100, []string{"<13>a", "<13>b\r", "", "<13>c"}, []bool{false, false, false, false}, ""},
		{"octet frame over max is cut, the rest skipped", "10 <123456789" + "2 ok", 4, []string{"<123", "ok"}, []bool{true, false}, ""},
		{"newline frame over max is cut, the rest skipped", "<13>0123456789\n<13>\n", 6, []string{"<13>01", "<13>"}, []bool{true, false}, ""},
		{"line exactly max", "<13>ab\nx\n", 6, []string{"<13>ab", "x"}, []bool{false, false}, ""},
		{"garbage after a frame", "3 <bcXYZ", 100, []string{"<bc"}, []bool{false}, "want a length"},
		{"no space after a length", "3 <bc3abc", 100, []string{"<bc"}, []bool{false}, "want a space"},
		{"length 0", "3 <bc0 ", 100, []string{"<bc"}, []bool{false}, "length of 0"},
		{"endless length", "3 <bc12345678901 x", 100, []string{"<bc"}, []bool{false}, "more than 10 digits"},
		{"garbage after a PRI-less first frame", "3 abcXYZ", 100, []string{"3 abcXYZ"}, []bool{false}, ""},
		{"PRI-less octet frames", "3 abc3 def", 100, []string{"abc", "def"}, []bool{false, false}, ""},
		{"PRI-less octet frame alone", "3 abc", 100, []string{"abc"}, []bool{false}, ""},
		{"a line starting with a number and a space", "10 users logged in\n<13>x\n", 100, []string{"10 users logged in", "<13>x"}, []bool{false, false}, ""},
		{"a line starting with a number longer than max", "99 users logged in\n", 10, []string{"99 users l"}, []bool{true}, ""},
		{"lines starting with a date, no PRI", "2026-12-07 first\nsecond\n", 100, []string{"2026-12-07 first", "second"}, []bool{false, false}, ""},
		{"a first length that is none", "3abc\n", 100, []string{"3abc"}, []bool{false}, ""},
		{"unfinished frame at the end", "5 hel", 100, nil, nil, ""},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 3, 1 << 20} {
			t.Run(fmt.Sprintf("%s/reads of %d", tt.name, chunk), func(t *testing.T) {
				frames, cut, err := syslog.Frames([]byte(tt.in), chunk, tt.max)
				if tt.errText == "" && err != nil || tt.errText != "" && (err == nil || !strings.Contains(err.Error(), tt.errText)) {
					t.Fatalf("err = %v, want %q", err, tt.errText)
				}
				if err != nil && !errors.Is(err, syslog.ErrFraming) {
					t.Fatalf("err = %v, not ErrFraming", err)
				}
				if got := fmt.Sprintf("%q", frames); got != fmt.Sprintf("%q", tt.frames) {
					t.Fatalf("frames = %s, want %q", got, tt.frames)
				}
				if fmt.Sprint(cut) != fmt.Sprint(tt.cut) {
					t.Fatalf("cut = %v, want %v", cut, tt.cut)
				}
			})
		}
	}
}
