package syslog

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// A large frame's arena is sized to what its event needs, not twice the frame; the event's bytes are whole even
// when the members need more than was reserved; and the stream's id seed comes from the source's clock.
func TestArenaSizedToTheFrame(t *testing.T) {
	cfg := Config{Name: "t", Address: ":0", MaxMessageBytes: 1 << 20}
	cfg.SetDefaults()
	src, err := New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	peer := netip.MustParseAddrPort("10.0.0.1:514")
	b := src.newBuilder(src.newStream(peer, true))
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	frame := []byte("<13>app: " + strings.Repeat("m", 512<<10))
	b.add(frame, now, peer, false, false)
	if c := cap(b.arena); c > arenaNeed(len(frame)) {
		t.Fatalf("arena of %d bytes for a frame of %d, want at most %d", c, len(frame), arenaNeed(len(frame)))
	}
	// Control bytes in the structured data: 6 JSON bytes each, more than the reserve; the event is still whole.
	ctl := []byte(`<13>1 - h app - - [x@1 k="` + strings.Repeat("\x01", 4<<10) + `"] ctl`)
	b.add(ctl, now, peer, false, false)
	ev := b.events[len(b.events)-1]
	if string(ev.Message) != "ctl" || !strings.Contains(string(ev.Extra), strings.Repeat(`\u0001`, 4<<10)) {
		t.Fatalf("event of a frame whose members outgrew the reserve: message %q, %d bytes of members", ev.Message, len(ev.Extra))
	}

	seed := func(sec int64) [16]byte {
		src.now = func() time.Time { return time.Unix(sec, 0) }
		src.conns.Store(0)
		return src.newStream(peer, true).IDSeed
	}
	if a, b, c := seed(1000), seed(1000), seed(2000); a != b || a == c {
		t.Fatal("the stream's id seed does not come from the source's clock")
	}
}
