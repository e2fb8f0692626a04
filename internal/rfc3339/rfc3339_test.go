package rfc3339_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/internal/rfc3339"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want string // RFC 3339 in UTC; empty: refused
	}{
		{"2024-05-01T10:00:01Z", "2024-05-01T10:00:01Z"},
		{"2024-05-01T10:00:01.5Z", "2024-05-01T10:00:01.5Z"},
		{"2024-05-01T10:00:01.123456789Z", "2024-05-01T10:00:01.123456789Z"},
		{"2024-05-01T10:00:01.1234567891234Z", "2024-05-01T10:00:01.123456789Z"}, // past nine digits: dropped
		{"2024-05-01T12:00:01.25+02:00", "2024-05-01T10:00:01.25Z"},
		{"2024-05-01 10:00:01z", "2024-05-01T10:00:01Z"},
		{"2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z"},
		{"2023-02-29T00:00:00Z", ""},
		{"2024-05-01T10:00:01.Z", ""},
		{"2024-05-01T10:00:01", ""},
		{"2024-05-01T10:00:01+0200", ""},
		{"2024-05-01T24:00:01Z", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, ok := rfc3339.Parse([]byte(tt.in))
		switch {
		case tt.want == "" && ok:
			t.Errorf("Parse(%q) = %v, want refused", tt.in, got)
		case tt.want != "" && (!ok || got.Format(time.RFC3339Nano) != tt.want || got.Location() != time.UTC):
			t.Errorf("Parse(%q) = %v, %v, want %s", tt.in, got, ok, tt.want)
		}
	}
}

// ParseError says where a refused time goes wrong, for the errors of container log lines.
func TestParseErrorOffset(t *testing.T) {
	tests := []struct {
		in     string
		offset int
		reason string
	}{
		{"hello", 0, "want a digit"},
		{"0d00-01-10T00:00:00Z", 1, "want a digit"}, // the layout's own letter (FuzzParseCRI found it)
		{"2024-01-02", 10, "want 'T'"},
		{"2024-01-02T03-04:05Z", 13, "want ':'"},
		{"2024-13-02T03:04:05Z", 5, "month out of range"},
		{"2023-02-29T03:04:05Z", 8, "day out of range"},
		{"2024-01-02T03:04:60Z", 17, "second out of range"},
		{"2024-01-02T03:04:05.Z", 20, "want a fraction digit"},
		{"2024-01-02T03:04:05.123", 23, "want Z or a ±hh:mm offset"},
		{"2024-01-02T03:04:05+0100", 19, "want a ±hh:mm offset"},
		{"2024-01-02T03:04:05+24:00", 19, "offset out of range"},
		{"2024-01-02T03:04:05Zx", 20, "want the end of the time"},
	}
	for _, tt := range tests {
		_, err := rfc3339.ParseError([]byte(tt.in))
		var e *rfc3339.Error
		if !errors.As(err, &e) || e.Offset != tt.offset || !strings.Contains(e.Reason, tt.reason) {
			t.Errorf("ParseError(%q) = %v, want offset %d and %q", tt.in, err, tt.offset, tt.reason)
		}
	}
	if tm, err := rfc3339.ParseError([]byte("2024-05-01T12:00:01.25+02:00")); err != nil ||
		tm.Format(time.RFC3339Nano) != "2024-05-01T10:00:01.25Z" {
		t.Errorf("ParseError of a good time: %v, %v", tm, err)
	}
}
