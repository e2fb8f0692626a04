package processors

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
)

func TestTimestampLayouts(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		layout string
		loc    *time.Location
		val    string
		want   string // RFC 3339 nano in UTC; "" when val must not parse
	}{
		{"RFC3339", nil, "2026-11-21T10:00:00Z", "2026-11-21T10:00:00Z"},
		{"RFC3339", nil, "2026-11-21T10:00:00.25+02:00", "2026-11-21T08:00:00.25Z"},
		{"rfc3339nano", nil, "2026-11-21T10:00:00.123456789Z", "2026-11-21T10:00:00.123456789Z"},
		{"RFC3339", nil, "2026-02-30T10:00:00Z", ""},
		{"RFC3339", nil, "2026-11-21 10:00:00", ""},
		{"ISO8601", nil, "2026-11-21T10:00:00", "2026-11-21T10:00:00Z"},
		{"ISO8601", paris, "2026-11-21T10:00:00", "2026-11-21T09:00:00Z"},
		{"ISO8601", paris, "2026-07-21 10:00:00,5", "2026-07-21T08:00:00.5Z"},
		{"ISO8601", paris, "2026-11-21T10:00", "2026-11-21T09:00:00Z"},
		{"ISO8601", paris, "2026-11-21T10:00:00.123+0530", "2026-11-21T04:30:00.123Z"},
		{"ISO8601", paris, "2026-11-21T10:00:00-03", "2026-11-21T13:00:00Z"},
		{"ISO8601", paris, "2026-11-21T10:00:00Z", "2026-11-21T10:00:00Z"},
		{"ISO8601", nil, "2026-11-21T24:00:00", ""},
		{"ISO8601", nil, "2026-11-21T10:00:00+2", ""},
		{"ISO8601", nil, "2026-11-21", ""},
		{"UNIX", nil, "1764000000", "2025-11-24T16:00:00Z"},
		{"UNIX", nil, "1764000000.123456", "2025-11-24T16:00:00.123456Z"},
		{"UNIX", nil, "-1.5", "1969-12-31T23:59:58.5Z"},
		{"UNIX", nil, "1.764e9", "2025-11-24T16:00:00Z"},
		{"UNIX", nil, "17640000x", ""},
		{"UNIX", nil, "", ""},
		{"UNIX", nil, ".5", ""},
		{"UNIX", nil, "99999999999999999999999", ""},
		{"UNIX_MS", nil, "1764000000123", "2025-11-24T16:00:00.123Z"},
		{"UNIX_MS", nil, "1764000000123.5", "2025-11-24T16:00:00.1235Z"},
		{"UNIX_US", nil, "1764000000123456", "2025-11-24T16:00:00.123456Z"},
		{"UNIX_NS", nil, "1764000000123456789", "2025-11-24T16:00:00.123456789Z"},
		{"02/Jan/2006:15:04:05 -0700", nil, "21/Nov/2026:10:00:00 +0200", "2026-11-21T08:00:00Z"},
		{"2006-01-02 15:04:05.000", paris, "2026-11-21 10:00:00.250", "2026-11-21T09:00:00.25Z"},
		{"Jan _2 15:04:05", nil, "Nov  3 10:00:00", "2026-11-03T10:00:00Z"}, // the read time's year
		{"02/Jan/2006:15:04:05 -0700", nil, "21/Nov/2026:10:00:00", ""},
	}
	for _, tt := range tests {
		t.Run(tt.layout+"/"+tt.val, func(t *testing.T) {
			l, err := compileLayout(tt.layout)
			if err != nil {
				t.Fatal(err)
			}
			loc := tt.loc
			if loc == nil {
				loc = time.UTC
			}
			var cache timeCache
			got, ok := l.parse([]byte(tt.val), loc, readTime, &cache)
			if tt.want == "" {
				if ok {
					t.Errorf("parsed as %v, want an error", got)
				}
				return
			}
			if !ok {
				t.Fatal("not parsed")
			}
			if s := got.Format(time.RFC3339Nano); s != tt.want || got.Location() != time.UTC {
				t.Errorf("got %s (%v), want %s UTC", s, got.Location(), tt.want)
			}
		})
	}
}

func TestTimestampWithoutYear(t *testing.T) {
	l, err := compileLayout("Jan _2 15:04:05")
	if err != nil {
		t.Fatal(err)
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		val  string
		now  time.Time
		want string
	}{
		{"Nov  3 10:00:00", time.Time{}, "0000-11-03T09:50:39Z"}, // no read time: year 0 (Paris was at +0:09:21)
		{"Jun  3 10:00:00", readTime, "2026-06-03T08:00:00Z"},
		{"Dec 31 23:59:00", time.Date(2025, 12, 31, 23, 5, 0, 0, time.UTC), "2025-12-31T22:59:00Z"},
		{"Dec 31 23:59:00", time.Date(2026, 1, 1, 0, 5, 0, 0, time.UTC), "2025-12-31T22:59:00Z"},
		{"Jan  1 00:01:00", time.Date(2025, 12, 31, 23, 5, 0, 0, time.UTC), "2025-12-31T23:01:00Z"},
	}
	for _, tt := range tests {
		var cache timeCache
		got, ok := l.parse([]byte(tt.val), paris, tt.now, &cache)
		if !ok || got.Format(time.RFC3339Nano) != tt.want {
			t.Errorf("%q read at %v: got %v, %v; want %s", tt.val, tt.now, got, ok, tt.want)
		}
	}
}

func TestTimestampProcessor(t *testing.T) {
	tests := []struct {
		name string
		cfg  TimestampConfig
		msg  string
		want map[string]any
	}{
		{"sets the time, keeps the read time, removes the field",
			TimestampConfig{Field: "ts", Layouts: []string{"UNIX_MS"}, Remove: true}, "1764000000123",
			map[string]any{"@timestamp": "2025-11-24T16:00:00.123000000Z",
				"event.ingested": "2026-12-07T10:00:00.000000005Z", "ts": nil, "error": nil}},
		{"second layout", TimestampConfig{Field: "ts", Layouts: []string{"RFC3339", "ISO8601"},
			Timezone: "America/New_York"}, "2026-11-21T10:00:00",
			map[string]any{"@timestamp": "2026-11-21T15:00:00.000000000Z", "ts": "2026-11-21T10:00:00"}},
		{"no layout matches", TimestampConfig{Field: "ts", Layouts: []string{"RFC3339", "UNIX"}}, "yesterday",
			map[string]any{"@timestamp": "2026-12-07T10:00:00.000000005Z", "event": nil, "ts": "yesterday",
				"error.message": `timestamp: "yesterday" matches none of the layouts RFC3339, UNIX`}},
		{"missing field", TimestampConfig{Field: "nothere", Layouts: []string{"UNIX"}}, "1",
			map[string]any{"@timestamp": "2026-12-07T10:00:00.000000005Z",
				"error.message": `timestamp: field "nothere" is missing (set ignore_missing: true to pass such events unchanged)`}},
		{"missing field ignored", TimestampConfig{Field: "nothere", Layouts: []string{"UNIX"}, IgnoreMissing: true},
			"1", map[string]any{"@timestamp": "2026-12-07T10:00:00.000000005Z", "error": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			c := mustBuild(t, []Config{{Dissect: &DissectConfig{Pattern: "ts"}}, {Timestamp: &cfg}})
			doc := encode(t, c, engine.Event{Time: readTime, Stream: fileStream(""), Offset: 0,
				Message: []byte(tt.msg)})
			for path, v := range tt.want {
				if got := at(doc, path); got != v {
					t.Errorf("%s = %#v, want %#v", path, got, v)
				}
			}
		})
	}
}

// FuzzTimestampLayouts parses anything with every named layout and a Go layout: never a panic, always UTC, and
// an integer read as UNIX_NS is that many nanoseconds.
func FuzzTimestampLayouts(f *testing.F) {
	for _, s := range []string{"2026-11-21T10:00:00Z", "2026-11-21T10:00:00.5+01:00", "2026-11-21 10:00:00,123",
		"1764000000", "-1.5", "1.7e9", "1764000000123456789", "21/Nov/2026:10:00:00 +0200", "9999-12-31T23:59:59",
		"", "-", "1e400", "0.0000000001"} {
		f.Add(s)
	}
	var layouts []layout
	for _, name := range []string{"RFC3339", "ISO8601", "UNIX", "UNIX_MS", "UNIX_US", "UNIX_NS",
		"02/Jan/2006:15:04:05 -0700"} {
		l, err := compileLayout(name)
		if err != nil {
			f.Fatal(err)
		}
		layouts = append(layouts, l)
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var cache timeCache
		for _, l := range layouts {
			got, ok := l.parse([]byte(s), paris, readTime, &cache)
			if ok && got.Location() != time.UTC {
				t.Errorf("%s of %q: %v not in UTC", l.text, s, got)
			}
			if l.text == "UNIX_NS" && ok && !strings.ContainsAny(s, ".eE") {
				n, err := strconv.ParseInt(s, 10, 64)
				if err == nil && got.UnixNano() != n {
					t.Errorf("UNIX_NS of %q = %d", s, got.UnixNano())
				}
			}
		}
	})
}

func TestIngestedClock(t *testing.T) {
	var c ingestedClock
	base := time.Date(2026, 12, 7, 10, 0, 0, 0, time.FixedZone("X", 3600))
	for _, d := range []time.Duration{0, 5, 120 * time.Millisecond, 999999999, time.Second, time.Second + 1,
		time.Hour + 100*time.Microsecond, -time.Hour} {
		tm := base.Add(d)
		if got, want := string(c.append(nil, tm)), tm.UTC().Format(time.RFC3339Nano); got != want {
			t.Errorf("%v: got %s, want %s", tm, got, want)
		}
	}
}

// TestTimestampRepeatedValue parses the same value twice, the second time from the step's memory, and a value
// without a year from two read times: the memory must not keep the first one's year.
func TestTimestampRepeatedValue(t *testing.T) {
	c := mustBuild(t, []Config{{Dissect: &DissectConfig{Pattern: "ts"}},
		{Timestamp: &TimestampConfig{Field: "ts", Layouts: []string{"Jan _2 15:04:05", "02/Jan/2006:15:04:05"}}}})
	st := fileStream("")
	for _, tt := range []struct {
		read time.Time
		msg  string
		want string
	}{
		{readTime, "21/Nov/2026:10:00:00", "2026-11-21T10:00:00Z"},
		{readTime, "21/Nov/2026:10:00:00", "2026-11-21T10:00:00Z"},
		{readTime, "Nov 21 10:00:00", "2026-11-21T10:00:00Z"},
		{readTime.AddDate(1, 0, 0), "Nov 21 10:00:00", "2027-11-21T10:00:00Z"},
	} {
		ev := engine.Event{Time: tt.read, Stream: st, Offset: 0, Message: []byte(tt.msg)}
		c.Process(&ev)
		if got := ev.Time.Format(time.RFC3339Nano); got != tt.want {
			t.Errorf("%q read at %v: %s, want %s", tt.msg, tt.read, got, tt.want)
		}
	}
}

// A Feb 29 line with a layout without a year, read in a year that has none, is stamped with the last leap
// year's Feb 29, not with March 1st.
func TestNoYearLayoutFeb29(t *testing.T) {
	c, err := Build("test", []Config{{Timestamp: &TimestampConfig{Field: "message",
		Layouts: []string{"Jan _2 15:04:05"}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ read, want time.Time }{
		{time.Date(2029, 1, 10, 12, 0, 0, 0, time.UTC), time.Date(2028, 2, 29, 10, 0, 0, 0, time.UTC)},
		{time.Date(2028, 3, 2, 12, 0, 0, 0, time.UTC), time.Date(2028, 2, 29, 10, 0, 0, 0, time.UTC)},
		{time.Date(2031, 6, 1, 12, 0, 0, 0, time.UTC), time.Date(2028, 2, 29, 10, 0, 0, 0, time.UTC)},
	} {
		ev := engine.Event{Time: tc.read, Stream: fileStream(""), Message: []byte("Feb 29 10:00:00")}
		if !c.Process(&ev) {
			t.Fatal("dropped")
		}
		if !ev.Time.Equal(tc.want) {
			t.Errorf("read %s: @timestamp %s, want %s", tc.read.Format(time.DateOnly), ev.Time.UTC().Format(time.RFC3339),
				tc.want.Format(time.RFC3339))
		}
	}
}
