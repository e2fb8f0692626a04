package snapshot_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/flickerlog/flicker/snapshot"
)

// FuzzReadHeader: any bytes give a header or one of the three sentinel errors (the reader never fails here), never
// a panic or a huge allocation; a header that parses also survives the metadata round trip.
func FuzzReadHeader(f *testing.F) {
	db := newRegistry(f, 20)
	good, _ := writeT(f, db)
	f.Add(good)
	f.Add(good[:60])
	f.Add([]byte(snapshot.Magic))
	f.Add([]byte(`{"epoch":1}`))
	f.Add(append([]byte(snapshot.Magic), 0, 0, 0, 1, 0, 0, 0, 2, '{', '}', 0, 0, 0, 0))
	f.Add(append([]byte(snapshot.Magic), 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		h, err := snapshot.ReadHeader(r)
		if err != nil {
			if !errors.Is(err, snapshot.ErrCorrupt) && !errors.Is(err, snapshot.ErrNotSnapshot) &&
				!errors.Is(err, snapshot.ErrNewerFormat) {
				t.Fatalf("error %v is none of the sentinels", err)
			}
			return
		}
		if h.FormatVersion != snapshot.FormatVersion || h.RawSize <= 0 || h.PayloadSize <= 0 {
			t.Fatalf("accepted header %+v", h)
		}
		if consumed := len(b) - r.Len(); consumed > 20+snapshot.MaxHeaderSize {
			t.Fatalf("consumed %d bytes, more than a header", consumed)
		}
		if _, err := snapshot.HeaderFromMetadata(h.Metadata()); err != nil {
			t.Fatalf("metadata of an accepted header: %v", err)
		}
	})
}
