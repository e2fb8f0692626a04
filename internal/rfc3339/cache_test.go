package rfc3339_test

import (
	"strings"
	"testing"

	"github.com/flickerlog/flicker/internal/rfc3339"
)

// Cache reads every time as internal/rfc3339 does, whatever came before it: the same
// second with other fractions, no fraction, another zone, more than nine digits, a broken fraction.
func TestCacheReadsAsParseError(t *testing.T) {
	times := []string{
		"2024-03-12T14:01:58.392741Z",
		"2024-03-12T14:01:58.5Z",
		"2024-03-12T14:01:58Z",
		"2024-03-12T14:01:58.000000001Z",
		"2024-03-12T14:01:58.1234567891234Z",
		"2024-03-12T14:01:58.12a4Z",
		"2024-03-12T14:01:58.Z",
		"2024-03-12T14:01:58.1z",
		"2024-03-12T14:01:58.1+01:00",
		"2024-03-12T14:01:58.2+01:00",
		"2024-03-12T14:01:58.2-01:00",
		"2024-03-12T14:01:58.2+01:00 ",
		"2024-03-12T14:01:58.2",
		"2024-03-12t14:01:58.2+01:00",
		"2024-03-12 14:01:58.3+01:00",
		"2024-03-12T14:01:59.3+01:00",
		"2024-02-30T14:01:59.3+01:00",
		"2024-03-12T14:01:59.300000000+01:00",
		"2024-03-12T14:01:59.",
		"2024-03-12T14:01:59.4",
	}
	var c rfc3339.Cache
	for _, s := range times {
		got, gotErr := c.Parse([]byte(s))
		want, wantErr := rfc3339.ParseError([]byte(s))
		if (gotErr == nil) != (wantErr == nil) || got != want || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
			t.Errorf("%q: %v, %v; rfc3339: %v, %v", s, got, gotErr, want, wantErr)
		}
	}
}

// FuzzCache: after any time, any other is read as internal/rfc3339 reads it.
func FuzzCache(f *testing.F) {
	f.Add("2024-03-12T14:01:58.392741Z", "2024-03-12T14:01:58.5Z")
	f.Add("2024-03-12T14:01:58.392741+05:45", "2024-03-12T14:01:58.1234567891+05:45")
	f.Add("2024-03-12T14:01:58Z", "2024-03-12T14:01:58.9Z")
	f.Fuzz(func(t *testing.T, first, second string) {
		var c rfc3339.Cache
		_, _ = c.Parse([]byte(first))
		got, gotErr := c.Parse([]byte(second))
		want, wantErr := rfc3339.ParseError([]byte(second))
		if (gotErr == nil) != (wantErr == nil) || got != want {
			t.Fatalf("%q after %q: %v, %v; rfc3339: %v, %v", second, first, got, gotErr, want, wantErr)
		}
	})
}

// ParseField reads a line's first field as Parse reads that field alone, whatever came before it.
func TestCacheParseFieldReadsAsParse(t *testing.T) {
	lines := []string{
		"2024-03-12T14:01:58.392741Z stdout F a",
		"2024-03-12T14:01:58.5Z stdout F b",
		"2024-03-12T14:01:58.5Z",
		"2024-03-12T14:01:58.6Zx stdout F c",
		"2024-03-12T14:01:58.6 stdout F d",
		"2024-03-12T14:01:58.7+01:00 stdout F e",
		"2024-03-12T14:01:58.7+01:00",
		"2024-03-12T14:01:58.8+01:0 stdout F f",
		"2024-03-12 14:01:58.8+01:00 stdout F g",
		"2024-03-12T14:01:58Z stdout F h",
		"2024-03-12T14:01:58.9Z  stdout F i",
		"",
		" ",
	}
	var c, ref rfc3339.Cache
	for _, line := range lines {
		field, _, _ := strings.Cut(line, " ")
		got, n, gotErr := c.ParseField([]byte(line))
		want, wantErr := ref.Parse([]byte(field))
		if n != len(field) || (gotErr == nil) != (wantErr == nil) || got != want ||
			(gotErr != nil && gotErr.Error() != wantErr.Error()) {
			t.Errorf("%q: %v, %d, %v; Parse of %q: %v, %v", line, got, n, gotErr, field, want, wantErr)
		}
	}
}

// FuzzCacheParseField: after any time, any line's first field is read as Parse reads it.
func FuzzCacheParseField(f *testing.F) {
	f.Add("2024-03-12T14:01:58.392741Z", "2024-03-12T14:01:58.5Z stdout F x")
	f.Add("2024-03-12T14:01:58.1+05:45", "2024-03-12T14:01:58.1234567891+05:45 stdout P y")
	f.Add("2024-03-12T14:01:58.1Z", "2024-03-12T14:01:58.9Zstdout F z")
	f.Fuzz(func(t *testing.T, first, line string) {
		var c rfc3339.Cache
		_, _ = c.Parse([]byte(first))
		field, _, _ := strings.Cut(line, " ")
		got, n, gotErr := c.ParseField([]byte(line))
		want, wantErr := rfc3339.ParseError([]byte(field))
		if n != len(field) || (gotErr == nil) != (wantErr == nil) || got != want {
			t.Fatalf("%q after %q: %v, %d, %v; rfc3339 of %q: %v, %v", line, first, got, n, gotErr, field, want,
				wantErr)
		}
	})
}
