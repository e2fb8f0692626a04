package rfc3339_test

import (
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
