package syslog_test

import (
	"testing"
	"time"

	"github.com/flickerlog/flicker/sources/syslog"
)

// Typical messages: an RFC 5424 one with structured data, and a Linux RFC 3164 one.
var (
	bench5424 = []byte(`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry that is reasonably long like a typical one`)
	bench3164 = []byte(`<34>Oct 11 22:14:15 mymachine su[1234]: 'su root' failed for lonvick on /dev/pts/8 and some more text to be typical`)
)

func benchParse(b *testing.B, format string, frame []byte, render bool) {
	p := syslog.NewParser(format, time.UTC)
	var m syslog.Message
	var out []byte
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Parse(frame, now, &m); err != nil {
			b.Fatal(err)
		}
		if render {
			out = syslog.AppendMembers(out[:0], &m)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkParseRFC5424(b *testing.B)       { benchParse(b, syslog.FormatRFC5424, bench5424, false) }
func BenchmarkParseRFC3164(b *testing.B)       { benchParse(b, syslog.FormatRFC3164, bench3164, false) }
func BenchmarkParseRenderRFC5424(b *testing.B) { benchParse(b, syslog.FormatAuto, bench5424, true) }
func BenchmarkParseRenderRFC3164(b *testing.B) { benchParse(b, syslog.FormatAuto, bench3164, true) }
