package syslog

import (
	"net/netip"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// BenchmarkEvents measures what a connection spends per message beyond reading it: parse, render the members,
// derive the id, all into the arena (allocations are the arena's, amortised over its 64 KiB).
func BenchmarkEvents(b *testing.B) {
	for name, frame := range map[string]string{
		"rfc5424": `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry that is reasonably long like a typical one`,
		"rfc3164": `<34>Oct 11 22:14:15 mymachine su[1234]: 'su root' failed for lonvick on /dev/pts/8 and some more text to be typical`,
	} {
		b.Run(name, func(b *testing.B) {
			cfg := Config{Name: "bench", Address: ":0"}
			cfg.SetDefaults()
			src, err := New(cfg, zerolog.Nop())
			if err != nil {
				b.Fatal(err)
			}
			peer := netip.MustParseAddrPort("10.0.0.1:514")
			bl := src.newBuilder(src.newStream(peer, true))
			now := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
			raw := []byte(frame)
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				bl.add(raw, now, peer, false, false)
				if len(bl.events) == 1024 {
					clear(bl.events)
					bl.events = bl.events[:0]
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
