package snapshot

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// FuzzParseLease: whatever the lease key holds (another program's object, a truncated or hand-edited record),
// parseLease gives a record with a writer and an epoch or refuses it, never a panic; an accepted record written
// again as flicker writes leases reads back the same.
func FuzzParseLease(f *testing.F) {
	now := time.Date(2026, 12, 7, 19, 0, 0, 0, time.UTC)
	good, err := json.Marshal(LeaseRecord{WriterID: "w-1", Hostname: "node-a", Epoch: 3, Acquired: now,
		Renewed: now, Expires: now.Add(15 * time.Second), LatestETag: `"abc"`, WriteID: "x1"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte(`{"writer_id":"w","epoch":0}`))
	f.Add([]byte(`{"writer_id":"","epoch":1}`))
	f.Add([]byte(`{"writer_id":"w","epoch":18446744073709551615,"expires":"not a time"}`))
	f.Add([]byte(`{"writer_id":"w","epoch":1,"released":true,"latest_etag":"\u0000"}`))
	f.Add([]byte("[" + strings.Repeat(" ", maxLeaseSize) + "]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, ok := parseLease(b)
		if !ok {
			if rec != (LeaseRecord{}) {
				t.Fatalf("refused, yet returned %+v", rec)
			}
			return
		}
		if len(b) > maxLeaseSize || rec.WriterID == "" || rec.Epoch == 0 {
			t.Fatalf("accepted %+v from %d bytes", rec, len(b))
		}
		again, err := json.Marshal(rec)
		if err != nil {
			return // a time outside what encoding/json writes (year > 9999): flicker never writes one
		}
		back, ok := parseLease(again)
		if !ok || !sameLease(back, rec) {
			t.Fatalf("round trip of %+v gave %+v, %v", rec, back, ok)
		}
	})
}

func sameLease(a, b LeaseRecord) bool {
	return a.WriterID == b.WriterID && a.Hostname == b.Hostname && a.Epoch == b.Epoch && a.Acquired.Equal(b.Acquired) &&
		a.Renewed.Equal(b.Renewed) && a.Expires.Equal(b.Expires) && a.Released == b.Released &&
		a.LatestETag == b.LatestETag && a.WriteID == b.WriteID
}
