package eventjson_test

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/eventjson"
)

const layout = "2006-01-02T15:04:05.000000000Z07:00"

func encodedTimestamp(t *testing.T, tm time.Time) string {
	t.Helper()
	return encodedTimestampWith(t, new(eventjson.Encoder), tm)
}

func encodedTimestampWith(t *testing.T, enc *eventjson.Encoder, tm time.Time) string {
	t.Helper()
	var doc struct {
		Timestamp string `json:"@timestamp"`
	}
	out := enc.Append(nil, &engine.Event{Time: tm, Stream: fileStream(), Offset: -1})
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return doc.Timestamp
}

func TestTimestamp(t *testing.T) {
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		{"zero time", time.Time{}, "0001-01-01T00:00:00.000000000Z"},
		{"epoch", time.Unix(0, 0), "1970-01-01T00:00:00.000000000Z"},
		{"before epoch", time.Unix(-1, 1), "1969-12-31T23:59:59.000000001Z"},
		{"leap day", time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.UTC), "2024-02-29T23:59:59.999999999Z"},
		{"century not leap", time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC), "2100-03-01T00:00:00.000000000Z"},
		{"year 2000 leap", time.Date(2000, 2, 29, 12, 0, 0, 0, time.UTC), "2000-02-29T12:00:00.000000000Z"},
		{"zone converted to UTC", time.Date(2026, 1, 1, 0, 30, 0, 0, time.FixedZone("", 3600)),
			"2025-12-31T23:30:00.000000000Z"},
		{"year 0", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), "0000-01-01T00:00:00.000000000Z"},
		{"before year 0 clamped", time.Date(-1, 6, 1, 0, 0, 0, 5, time.UTC), "0000-01-01T00:00:00.000000000Z"},
		{"last instant", time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), "9999-12-31T23:59:59.999999999Z"},
		{"after 9999 clamped", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "9999-12-31T23:59:59.999999999Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := encodedTimestamp(t, tt.in); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// TestTimestampMatchesTimeFormat compares the hand-written calendar arithmetic with package time over the whole
// representable range, with one encoder so that its cache of the last second is hit and missed.
func TestTimestampMatchesTimeFormat(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	lo := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	hi := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
	var enc eventjson.Encoder
	sec := lo
	for range 20000 {
		switch r.IntN(3) {
		case 0: // same second as before
		case 1:
			sec = min(sec+1, hi)
		default:
			sec = lo + r.Int64N(hi-lo+1)
		}
		tm := time.Unix(sec, r.Int64N(1e9))
		if got, want := encodedTimestampWith(t, &enc, tm), tm.UTC().Format(layout); got != want {
			t.Fatalf("unix %d: got %s, want %s", tm.Unix(), got, want)
		}
	}
}
