package snapshot_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

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

// FuzzHeaderFromMetadata: object metadata from a HEAD request (any store, any program's object) gives a header or
// one of the three sentinel errors; a header it accepts writes back to metadata that reads as the same header.
func FuzzHeaderFromMetadata(f *testing.F) {
	db := newRegistry(f, 3)
	_, h := writeT(f, db)
	md := h.Metadata()
	f.Add(md["flicker-format"], md["flicker-epoch"], md["flicker-created"], md["flicker-writer"],
		md["flicker-raw-size"], md["flicker-payload-sha256"])
	f.Add("2", "1", "2026-11-21T10:00:00Z", "w%2F1", "1", md["flicker-payload-sha256"])
	f.Add("1", "18446744073709551616", "yesterday", "%zz", "-1", "xyz")
	f.Add("0", "", "", "", "9223372036854775807", "")
	f.Fuzz(func(t *testing.T, format, epoch, created, writer, rawSize, payloadSHA string) {
		m := h.Metadata()
		// Keys as raw headers name them, and as minio-go's UserMetadata does.
		raw := map[string]string{"X-Amz-Meta-Flicker-Format": format, "Flicker-Epoch": epoch,
			"flicker-created": created, "FLICKER-WRITER": writer, "x-amz-meta-flicker-raw-size": rawSize,
			"flicker-payload-sha256": payloadSHA}
		for k, v := range m {
			if _, ok := raw[k]; !ok {
				raw[k] = v
			}
		}
		for _, k := range []string{"flicker-format", "flicker-epoch", "flicker-writer", "flicker-raw-size"} {
			delete(raw, k)
		}
		got, err := snapshot.HeaderFromMetadata(raw)
		if err != nil {
			if !errors.Is(err, snapshot.ErrCorrupt) && !errors.Is(err, snapshot.ErrNotSnapshot) &&
				!errors.Is(err, snapshot.ErrNewerFormat) {
				t.Fatalf("error %v is none of the sentinels", err)
			}
			return
		}
		again, err := snapshot.HeaderFromMetadata(got.Metadata())
		if err != nil || !again.Created.Equal(got.Created) || !sameButCreated(again, got) {
			t.Fatalf("header %+v writes back to metadata that reads as %+v, %v", got, again, err)
		}
	})
}

// sameButCreated compares headers but for Created, whose location may differ (compare it with Equal).
func sameButCreated(a, b snapshot.Header) bool {
	a.Created, b.Created = time.Time{}, time.Time{}
	return a == b
}
