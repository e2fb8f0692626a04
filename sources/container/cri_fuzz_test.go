package container_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sources/container"
	"github.com/flickerlog/flicker/sources/container/containertest"
)

// criSeeds are lines as containerd and CRI-O write them on real nodes, and near misses.
var criSeeds = []string{
	// containerd on a UTC node: trimmed fractions, Z.
	"2023-10-06T00:17:09.669794202Z stdout F Hello from Docker!\n",
	"2024-03-12T14:01:58.392741Z stderr F I0312 14:01:58.392548       1 main.go:227] handling current node\n",
	"2024-03-12T14:01:58.3Z stdout P {\"level\":\"info\",\"ts\":1710252118.3,\"msg\":\"a line longer than 16 KiB starts",
	"2024-03-12T14:01:58Z stdout F \n",
	// containerd on a node with a zone.
	"2024-01-02T03:04:05.123456789+01:00 stderr F panic: runtime error: index out of range [3] with length 3\n",
	"2024-06-30T19:00:00.5-05:00 stdout F 10.0.0.1 - - [30/Jun/2024:19:00:00 -0500] \"GET / HTTP/1.1\" 200 612\n",
	// CRI-O: nine digits, numeric offset even in UTC.
	"2024-03-12T14:01:58.392741000+00:00 stdout F time=\"2024-03-12T14:01:58Z\" level=info msg=\"started\"\n",
	"2020-09-23T10:49:36.285406372-05:00 stderr P Traceback (most recent call last):\n",
	"2021-02-28T23:59:59.999999999+05:45 stdout F:x:y extended tag\r\n",
	// Near misses.
	"2024-02-30T00:00:00Z stdout F x",
	"2024-01-02T03:04:05.Z stdout F x",
	"2024-01-02T03:04:05+0100 stdout F x",
	"2024-01-02T03:04:05Z stdin F x",
	"2024-01-02T03:04:05Z stdout F",
	"{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:05.1Z\"}\n",
	"",
}

// FuzzParseCRI: any bytes parse without a panic to a record whose content is the line's own tail, or to a
// *CRIError whose offset is within the line and whose message is short; a parsed time is what time.Parse reads;
// and a parsed record written back in either runtime's format parses to the same record.
func FuzzParseCRI(f *testing.F) {
	for _, s := range criSeeds {
		f.Add([]byte(s))
	}
	east := time.FixedZone("", 5*3600+45*60)
	f.Fuzz(func(t *testing.T, line []byte) {
		orig := bytes.Clone(line)
		rec, err := container.ParseCRI(line)
		if !bytes.Equal(line, orig) {
			t.Fatalf("ParseCRI changed the line %q to %q", orig, line)
		}
		if err != nil {
			var criErr *container.CRIError
			if !errors.As(err, &criErr) {
				t.Fatalf("error %v is not a *CRIError", err)
			}
			if criErr.Offset < 0 || criErr.Offset > len(line) || len(err.Error()) > 300 {
				t.Fatalf("error offset %d for a line of %d bytes, message of %d bytes: %.400v",
					criErr.Offset, len(line), len(err.Error()), err)
			}
			return
		}
		body := bytes.TrimSuffix(line, []byte("\n"))
		tail := len(body) - len(rec.Content)
		if tail < 0 || !bytes.Equal(rec.Content, body[tail:]) || cap(rec.Content) != cap(line)-tail {
			t.Fatalf("content %q is not the tail of the line %q", rec.Content, line)
		}
		if rec.Stream != container.StreamStdout && rec.Stream != container.StreamStderr {
			t.Fatalf("stream %s", rec.Stream)
		}
		// RFC 3339's lower-case t and z, which ParseCRI reads, are upper case for time.Parse (the only letters a
		// time ParseCRI reads can hold).
		field := bytes.ToUpper(line[:bytes.IndexByte(line, ' ')])
		if want, err := time.Parse(time.RFC3339Nano, string(field)); err != nil || !want.Equal(rec.Time) {
			t.Fatalf("time %q: ParseCRI %s, time.Parse %s (%v)", field, rec.Time.Format(time.RFC3339Nano),
				want.Format(time.RFC3339Nano), err)
		}

		again := func(rt containertest.Runtime, zone *time.Location) {
			t.Helper()
			out := rt.AppendRecord(nil, rec.Time.In(zone), rec.Stream, rec.Partial, rec.Content)
			back, err := container.ParseCRI(out)
			if err != nil {
				t.Fatalf("%s in %s wrote %q: %v", rt, zone, out, err)
			}
			if !back.Time.Equal(rec.Time) || back.Stream != rec.Stream || back.Partial != rec.Partial ||
				!bytes.Equal(back.Content, rec.Content) {
				t.Fatalf("%s in %s: %+v written as %q parses to %+v", rt, zone, rec, out, back)
			}
		}
		if y := rec.Time.Year(); y >= 0 && y <= 9999 { // a time of year 0 with an offset can be in year -1 in UTC
			again(containertest.Containerd, time.UTC)
			again(containertest.CRIO, time.UTC)
		}
		if y := rec.Time.Year(); y > 0 && y < 9999 { // four-digit years in any zone
			again(containertest.Containerd, east)
			again(containertest.CRIO, east)
		}
	})
}

// FuzzParseCRITime: a time the standard library reads ParseCRI reads too, as the same instant, when it is RFC
// 3339: time.Parse also takes single-digit fields, ',' before the fraction and offset minutes past 59, which no
// runtime writes, and offsets of 24 hours, which RFC 3339 does not allow.
func FuzzParseCRITime(f *testing.F) {
	for _, s := range criSeeds {
		if i := bytes.IndexByte([]byte(s), ' '); i > 0 {
			f.Add(s[:i])
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || len(s) < 19 || s[:19] != want.Format("2006-01-02T15:04:05") || strings.ContainsAny(s, ", \n") ||
			!strings.HasSuffix(s, "Z") && (!strings.HasSuffix(s, want.Format("-07:00")) || s[len(s)-5:len(s)-3] > "23") {
			return
		}
		rec, err := container.ParseCRI([]byte(s + " stdout F x"))
		if err != nil || !rec.Time.Equal(want) {
			t.Fatalf("%q: time.Parse %s, ParseCRI %s (%v)", s, want.Format(time.RFC3339Nano),
				rec.Time.Format(time.RFC3339Nano), err)
		}
	})
}
