package container_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sources/container"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestParseCRI(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		time    string // RFC 3339 in UTC
		stream  container.Stream
		partial bool
		content string
	}{
		{"containerd utc partial", "2016-10-06T00:17:09.669794202Z stdout P log content 1",
			"2016-10-06T00:17:09.669794202Z", container.StreamStdout, true, "log content 1"},
		{"containerd offset", "2024-01-02T03:04:05.123456789+01:00 stderr F log content 2",
			"2024-01-02T02:04:05.123456789Z", container.StreamStderr, false, "log content 2"},
		{"containerd trimmed fraction", "2024-01-02T03:04:05.1-05:30 stdout F x",
			"2024-01-02T08:34:05.1Z", container.StreamStdout, false, "x"},
		{"containerd no fraction", "2024-01-02T03:04:05Z stdout F x",
			"2024-01-02T03:04:05Z", container.StreamStdout, false, "x"},
		{"negative offset crosses a day", "2024-12-31T20:00:00.5-08:00 stdout F y",
			"2025-01-01T04:00:00.5Z", container.StreamStdout, false, "y"},
		{"cri-o nine digits", "2024-01-02T03:04:05.000000001+00:00 stdout F z",
			"2024-01-02T03:04:05.000000001Z", container.StreamStdout, false, "z"},
		{"cri-o offset", "2023-07-15T23:59:59.999999999+05:45 stderr P abc",
			"2023-07-15T18:14:59.999999999Z", container.StreamStderr, true, "abc"},
		{"more than nine digits are dropped", "2024-01-02T03:04:05.1234567899999Z stdout F x",
			"2024-01-02T03:04:05.123456789Z", container.StreamStdout, false, "x"},
		{"leap day", "2024-02-29T00:00:00Z stdout F x", "2024-02-29T00:00:00Z", container.StreamStdout, false, "x"},
		{"leap day of a 400th year", "2000-02-29T00:00:00Z stdout F x",
			"2000-02-29T00:00:00Z", container.StreamStdout, false, "x"},
		{"year zero", "0000-01-01T00:00:00Z stdout F x", "0000-01-01T00:00:00Z", container.StreamStdout, false, "x"},
		{"extended full tag", "2024-01-02T03:04:05Z stdout F:x:y hello",
			"2024-01-02T03:04:05Z", container.StreamStdout, false, "hello"},
		{"extended partial tag", "2024-01-02T03:04:05Z stdout P: hello",
			"2024-01-02T03:04:05Z", container.StreamStdout, true, "hello"},
		{"empty content", "2024-01-02T03:04:05Z stdout F ", "2024-01-02T03:04:05Z", container.StreamStdout, false, ""},
		{"one space is the separator, the rest content", "2024-01-02T03:04:05Z stdout F   indented ",
			"2024-01-02T03:04:05Z", container.StreamStdout, false, "  indented "},
		{"final newline stripped", "2024-01-02T03:04:05Z stdout F text\n",
			"2024-01-02T03:04:05Z", container.StreamStdout, false, "text"},
		{"carriage return kept", "2024-01-02T03:04:05.5+00:00 stdout F text\r\n",
			"2024-01-02T03:04:05.5Z", container.StreamStdout, false, "text\r"},
		{"content with tabs, tags and times", "2024-01-02T03:04:05Z stderr F 2024-01-02T03:04:05Z stdout P \tx",
			"2024-01-02T03:04:05Z", container.StreamStderr, false, "2024-01-02T03:04:05Z stdout P \tx"},
		// RFC 3339 allows a lower-case t and z; no runtime writes them, but they are the same time.
		{"lower-case t and z", "2024-01-02t03:04:05z stdout F x",
			"2024-01-02T03:04:05Z", container.StreamStdout, false, "x"},
		{"invalid utf-8 content is content", "2024-01-02T03:04:05Z stdout F \xff\xfe",
			"2024-01-02T03:04:05Z", container.StreamStdout, false, "\xff\xfe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := []byte(tt.line)
			rec, err := container.ParseCRI(line)
			if err != nil {
				t.Fatalf("ParseCRI(%q): %v", tt.line, err)
			}
			if want := utc(tt.time); !rec.Time.Equal(want) || rec.Time.Location() != time.UTC {
				t.Errorf("time %s (%s), want %s in UTC", rec.Time.Format(time.RFC3339Nano), rec.Time.Location(),
					want.Format(time.RFC3339Nano))
			}
			if rec.Stream != tt.stream || rec.Partial != tt.partial || string(rec.Content) != tt.content {
				t.Errorf("got stream %s partial %t content %q, want %s %t %q",
					rec.Stream, rec.Partial, rec.Content, tt.stream, tt.partial, tt.content)
			}
			// Content is the line's own bytes, not a copy: it ends where the line does (before its newline).
			end := len(strings.TrimSuffix(tt.line, "\n"))
			if cap(rec.Content) != cap(line)-(end-len(rec.Content)) {
				t.Errorf("content does not alias the line: cap %d, want %d", cap(rec.Content), cap(line)-(end-len(rec.Content)))
			}
		})
	}
}

func TestParseCRIMalformed(t *testing.T) {
	tests := []struct {
		name   string
		line   string
		part   string
		offset int
		reason string // a substring of the error
	}{
		{"empty", "", "line", 0, "empty line"},
		{"only a newline", "\n", "line", 0, "empty line"},
		{"not a time", "hello world", "time", 0, "want an RFC 3339 time"},
		{"docker json line", `{"log":"hello\n","stream":"stdout","time":"2024-01-02T03:04:05.1Z"}`, "time", 0,
			"want a digit"},
		{"space instead of T", "2024-01-02 03:04:05Z stdout F x", "time", 10, `want 'T' in "2024-01-02"`},
		{"letter in the year", "20x4-01-02T03:04:05Z stdout F x", "time", 2, "want a digit"},
		{"month 13", "2024-13-02T03:04:05Z stdout F x", "time", 5, "month out of range in \"2024-13-02T03:04:05Z\""},
		{"month 0", "2024-00-02T03:04:05Z stdout F x", "time", 5, "month out of range"},
		{"february 29 of a common year", "2023-02-29T03:04:05Z stdout F x", "time", 8, "day out of range"},
		{"february 29 of 1900", "1900-02-29T03:04:05Z stdout F x", "time", 8, "day out of range"},
		{"april 31", "2024-04-31T03:04:05Z stdout F x", "time", 8, "day out of range"},
		{"hour 24", "2024-01-02T24:04:05Z stdout F x", "time", 11, "hour out of range"},
		{"minute 60", "2024-01-02T03:60:05Z stdout F x", "time", 14, "minute out of range"},
		{"leap second", "2024-01-02T03:04:60Z stdout F x", "time", 17, "second out of range"},
		{"dot without digits", "2024-01-02T03:04:05.Z stdout F x", "time", 20, "want a fraction digit"},
		{"comma fraction", "2024-01-02T03:04:05,1Z stdout F x", "time", 19, "want Z or a ±hh:mm offset"},
		{"no zone", "2024-01-02T03:04:05.123 stdout F x", "time", 23, "want Z or a ±hh:mm offset"},
		{"offset without colon", "2024-01-02T03:04:05+0100 stdout F x", "time", 19, "want a ±hh:mm offset"},
		{"offset hour 24", "2024-01-02T03:04:05+24:00 stdout F x", "time", 19, "offset out of range"},
		{"garbage after the zone", "2024-01-02T03:04:05Zstdout F x", "time", 20, "want the end of the time after its zone"},
		{"time alone", "2024-01-02T03:04:05Z", "time", 20, "want a space after the time"},
		{"two spaces after the time", "2024-01-02T03:04:05Z  stdout F x", "stream", 21, "want stdout or stderr"},
		{"stdin", "2024-01-02T03:04:05Z stdin F x", "stream", 21, `found "stdin"`},
		{"stream glued to more", "2024-01-02T03:04:05Z stdoutx F x", "stream", 27, "want a space after the stream"},
		{"stream at the end", "2024-01-02T03:04:05Z stderr", "stream", 27, "want a space after the stream"},
		{"unknown tag", "2024-01-02T03:04:05Z stdout X x", "tag", 28, `want P or F, found "X"`},
		{"lowercase tag", "2024-01-02T03:04:05Z stdout f x", "tag", 28, `found "f"`},
		{"tag with the flag second", "2024-01-02T03:04:05Z stdout x:F x", "tag", 28, `found "x:F"`},
		{"two-letter tag", "2024-01-02T03:04:05Z stdout PF x", "tag", 28, `found "PF"`},
		{"empty tag", "2024-01-02T03:04:05Z stdout  x", "tag", 28, "empty tag"},
		{"empty tag at the end", "2024-01-02T03:04:05Z stdout ", "tag", 28, "empty tag"},
		{"no space after the tag", "2024-01-02T03:04:05Z stdout F", "content", 29, "want a space after the tag"},
		{"no space after an extended tag", "2024-01-02T03:04:05Z stdout P:x\n", "content", 31,
			"want a space after the tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := container.ParseCRI([]byte(tt.line))
			var criErr *container.CRIError
			if !errors.As(err, &criErr) {
				t.Fatalf("ParseCRI(%q) = %+v, %v; want a *CRIError", tt.line, rec, err)
			}
			if criErr.Part != tt.part || criErr.Offset != tt.offset || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q (part %s, offset %d), want part %s offset %d and %q",
					err, criErr.Part, criErr.Offset, tt.part, tt.offset, tt.reason)
			}
			if !strings.HasPrefix(err.Error(), "cri line: "+tt.part+" at byte ") {
				t.Errorf("error %q does not say the part and the byte first", err)
			}
		})
	}
}

// The error of a long malformed line quotes only the start of the wrong part.
func TestParseCRIErrorQuotesLittle(t *testing.T) {
	line := "2024-01-02T03:04:05Z stdout " + strings.Repeat("Q", 100000) + " x"
	_, err := container.ParseCRI([]byte(line))
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("error of %d bytes: %.300v", len(err.Error()), err)
	}
}

func TestParseCRIDoesNotAllocate(t *testing.T) {
	lines := [][]byte{
		[]byte("2016-10-06T00:17:09.669794202Z stdout P log content 1\n"),
		[]byte("2024-01-02T03:04:05.123456789+01:00 stderr F:x log content 2"),
		[]byte("2024-01-02T03:04:05.000000000-07:00 stdout F " + strings.Repeat("m", 150)),
	}
	for _, line := range lines {
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := container.ParseCRI(line); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("ParseCRI(%q) allocates %.0f times, want 0", line, allocs)
		}
	}
}

// ParseCRI agrees with the standard library on the time of every line in the table and of times around the
// calendar's edges.
func TestParseCRITimeMatchesTimeParse(t *testing.T) {
	var times []string
	for _, y := range []int{0, 1, 99, 100, 400, 1600, 1899, 1900, 1970, 1999, 2000, 2024, 2100, 9999} {
		for _, md := range []string{"01-01T00:00:00", "02-28T23:59:59", "03-01T00:00:00", "12-31T23:59:59"} {
			for _, zone := range []string{"Z", "+00:00", "-23:59", "+14:00", ".5+01:30", ".000000001-00:30"} {
				times = append(times, fmt.Sprintf("%04d-%s%s", y, md, zone))
			}
		}
	}
	for _, s := range times {
		want, werr := time.Parse(time.RFC3339Nano, s)
		rec, err := container.ParseCRI([]byte(s + " stdout F x"))
		if (werr == nil) != (err == nil) {
			t.Errorf("%s: ParseCRI error %v, time.Parse error %v", s, err, werr)
			continue
		}
		if err == nil && !rec.Time.Equal(want) {
			t.Errorf("%s: ParseCRI %s, time.Parse %s", s, rec.Time.Format(time.RFC3339Nano), want.UTC().Format(time.RFC3339Nano))
		}
	}
}

func ExampleParseCRI() {
	rec, err := container.ParseCRI([]byte("2024-01-02T03:04:05.123456789+01:00 stderr P the start of a long line\n"))
	if err != nil {
		panic(err)
	}
	fmt.Println(rec.Time.Format(time.RFC3339Nano), rec.Stream, rec.Partial, string(rec.Content))
	// Output: 2024-01-02T02:04:05.123456789Z stderr true the start of a long line
}
