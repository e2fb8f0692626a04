package timepattern_test

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/eventjson"
	"github.com/flickerlog/flicker/internal/timepattern"
)

// build makes a pattern from alternating literal text and date layouts: text, layout, text, ...
func build(t *testing.T, accepted timepattern.Tokens, pieces ...string) *timepattern.Pattern {
	t.Helper()
	p := &timepattern.Pattern{}
	for i, s := range pieces {
		if i%2 == 0 {
			p.AddText(s)
		} else if err := p.AddDate(s, accepted); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
	}
	return p
}

func TestRendersTokensAndText(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 8, time.FixedZone("UTC-9", -9*3600)) // 2026-03-04T14:06:07Z
	tests := []struct {
		pieces []string
		want   string
	}{
		{[]string{"logs"}, "logs"},
		{nil, ""},
		{[]string{"", "yyyy"}, "2026"},
		{[]string{"", "YYYY"}, "2026"},
		{[]string{"", "yy"}, "26"},
		{[]string{"", "YY"}, "26"},
		{[]string{"", "MM"}, "03"},
		{[]string{"", "dd"}, "04"},
		{[]string{"", "HH"}, "14"},
		{[]string{"", "mm"}, "06"},
		{[]string{"", "ss"}, "07"},
		{[]string{"logs-", "yyyy.MM.dd"}, "logs-2026.03.04"},
		{[]string{"", "yyyyMMddHHmmss"}, "20260304140607"},
		{[]string{"a/", "yyyy/MM/dd/HH", "/b-", "HH:mm", "%x"}, "a/2026/03/04/14/b-14:06%x"},
		{[]string{"", "--yyyy--"}, "--2026--"},
	}
	for _, tt := range tests {
		p := build(t, timepattern.Joda, tt.pieces...)
		if got := string(p.Append(nil, at)); got != tt.want {
			t.Errorf("%q: %q, want %q", tt.pieces, got, tt.want)
		}
		if dated := strings.ContainsAny(tt.want, "0123456789"); p.Dated() != dated {
			t.Errorf("%q: Dated() = %v, want %v", tt.pieces, p.Dated(), dated)
		}
	}
}

func TestRefusesUnknownTokens(t *testing.T) {
	prefixTokens := timepattern.Tokens{"yyyy": timepattern.Year, "MM": timepattern.Month}
	tests := []struct {
		layout   string
		accepted timepattern.Tokens
		offset   int
		token    string
	}{
		{"yyyy.MMM", timepattern.Joda, 5, "MMM"},
		{"DD", timepattern.Joda, 0, "DD"},
		{"yyyyy", timepattern.Joda, 0, "yyyyy"}, // a run of one letter is one token, not yyyy then y
		{"yyyy-M", timepattern.Joda, 5, "M"},
		{"yyyy/dd", prefixTokens, 5, "dd"},
		{"YYYY/MM", prefixTokens, 0, "YYYY"},
		{"yyyyé", timepattern.Joda, -1, ""}, // non-ASCII bytes are literal, not tokens
	}
	for _, tt := range tests {
		var p timepattern.Pattern
		err := p.AddDate(tt.layout, tt.accepted)
		var tokenErr *timepattern.TokenError
		if tt.offset < 0 {
			if err != nil {
				t.Errorf("%q: %v", tt.layout, err)
			}
			continue
		}
		if !errors.As(err, &tokenErr) {
			t.Errorf("%q: error %v, want a *TokenError", tt.layout, err)
			continue
		}
		if tokenErr.Layout != tt.layout || tokenErr.Offset != tt.offset || tokenErr.Token != tt.token {
			t.Errorf("%q: %+v, want token %q at %d", tt.layout, *tokenErr, tt.token, tt.offset)
		}
		if want := `unsupported date token "` + tt.token + `"`; err.Error() != want {
			t.Errorf("%q: %q, want %q", tt.layout, err, want)
		}
	}
}

// TestClampsLikeTimestamp: outside years 0-9999 the rendered date is the date @timestamp shows for the event.
func TestClampsLikeTimestamp(t *testing.T) {
	p := build(t, timepattern.Joda, "", "yyyy-MM-dd'HH:mm:ss")
	st := engine.NewStream(&engine.Input{Name: "app", Type: "file"}, func(int64) {})
	var enc eventjson.Encoder
	for _, c := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(12000, 6, 1, 0, 0, 0, 0, time.UTC), "9999-12-31'23:59:59"},
		{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "9999-12-31'23:59:59"},
		{time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), "9999-12-31'23:59:59"},
		{time.Date(-5, 6, 1, 0, 0, 0, 0, time.UTC), "0000-01-01'00:00:00"},
		{time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Nanosecond), "0000-01-01'00:00:00"},
		{time.Date(0, 2, 29, 1, 2, 3, 0, time.UTC), "0000-02-29'01:02:03"},
		{time.Time{}, "0001-01-01'00:00:00"},
		{time.Date(1969, 12, 31, 23, 59, 59, 500, time.UTC), "1969-12-31'23:59:59"},
	} {
		got := string(p.Append(nil, c.t))
		if got != c.want {
			t.Errorf("%s: %s, want %s", c.t, got, c.want)
		}
		ev := engine.Event{Time: c.t, Message: []byte("x"), Stream: st, Offset: -1}
		js := string(enc.Append(nil, &ev))
		stamp := strings.Replace(got, "'", "T", 1)
		if !strings.Contains(js, `"@timestamp":"`+stamp+`.`) {
			t.Errorf("%s: rendered %s but the event is %s", c.t, got, js)
		}
	}
}

// TestSlotsMatchText: two times share a slot only when they render the same text, before and after 1970, and for
// patterns down to the day or finer, exactly when.
func TestSlotsMatchText(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tt := range []struct {
		layout string
		exact  bool // the slot changes exactly when the text does
	}{{"yyyy.MM.dd", true}, {"yyMMddHH", true}, {"dd-HH:mm", true}, {"yyyyMMddHHmmss", true}, {"mm", false},
		{"yyyy", false}, {"MM", false}} {
		p := build(t, timepattern.Joda, "x-", tt.layout)
		for _, base := range []int64{-86400 * 40, 1795255200, timepattern.MaxUnix - 86400} {
			for range 1000 {
				t1 := time.Unix(base+rng.Int64N(3*86400), rng.Int64N(1e9))
				t2 := t1.Add(time.Duration(rng.Int64N(int64(4 * time.Hour))))
				same := string(p.Append(nil, t1)) == string(p.Append(nil, t2))
				if p.Slot(t1) == p.Slot(t2) && !same {
					t.Fatalf("%s: %s and %s share a slot but not the text", tt.layout, t1, t2)
				}
				if tt.exact && same && p.Slot(t1) != p.Slot(t2) {
					t.Fatalf("%s: %s and %s share the text but not a slot", tt.layout, t1, t2)
				}
			}
		}
	}
	fixed := build(t, timepattern.Joda, "logs")
	if fixed.Slot(time.Unix(0, 0)) != fixed.Slot(time.Unix(1e12, 0)) {
		t.Error("a pattern without dates has more than one slot")
	}
}

func TestAppendDoesNotAllocate(t *testing.T) {
	p := build(t, timepattern.Joda, "logs-", "yyyy.MM.dd.HH.mm.ss", "-x-", "yy")
	at := time.Now()
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = p.Append(buf[:0], at) }); n != 0 {
		t.Errorf("%v allocations per Append", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = p.Slot(at) }); n != 0 {
		t.Errorf("%v allocations per Slot", n)
	}
}

// FuzzAddDate: any layout either fails with a *TokenError naming a token in it, or renders byte for byte: a digit
// for each letter of a token (every token is as wide as its digits), the layout's other bytes as they are.
func FuzzAddDate(f *testing.F) {
	for _, s := range []string{"yyyy.MM.dd", "yyyyy", "HH:mm:ss", "", "é", "YY-yy", "%{+"} {
		f.Add(s, int64(1795255200))
	}
	f.Fuzz(func(t *testing.T, layout string, unix int64) {
		var p timepattern.Pattern
		if err := p.AddDate(layout, timepattern.Joda); err != nil {
			var tokenErr *timepattern.TokenError
			if !errors.As(err, &tokenErr) || !strings.HasPrefix(layout[tokenErr.Offset:], tokenErr.Token) {
				t.Fatalf("%q: %v", layout, err)
			}
			return
		}
		got := p.Append(nil, time.Unix(unix, 0))
		if len(got) != len(layout) {
			t.Fatalf("%q at %d: rendered %q", layout, unix, got)
		}
		for i := range len(layout) {
			c := layout[i]
			letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
			if letter && (got[i] < '0' || got[i] > '9') || !letter && got[i] != c {
				t.Fatalf("%q at %d: rendered %q", layout, unix, got)
			}
		}
	})
}
