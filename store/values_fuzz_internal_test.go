package store

import (
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"
)

// The registry's values arrive from disk or from a snapshot downloaded from S3: the decoders below must refuse
// damage with an error, never panic, and what they accept must encode back to a value that decodes the same.

// FuzzDecodeCursorValue: a cursor value (v2, or v1 sealed as it is read) decodes to a record that re-encodes as v2
// to the same record.
func FuzzDecodeCursorValue(f *testing.F) {
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 123456789, time.UTC)
	v2, err := appendCursorValue(nil, &CursorRecord{Cursor: "https://acme.okta.com/api/v1/logs?after=abc",
		LastTime: t0, RecentIDs: []string{"b", "a"}, Endpoint: "https://acme.okta.com/api/v1/logs",
		ParamsSum: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(v2)
	f.Add(append([]byte{cursorRecordV1}, `{"cursor":"https://x/logs?token=s3cr3t&after=1","last_time":`+
		`"2026-11-21T10:00:00+02:00","params":{"token":"s3cr3t"}}`...))
	f.Add([]byte{cursorRecordV2, '{', '}'})
	f.Add([]byte{cursorRecordV2})
	f.Add([]byte{3, '{', '}'})
	key := newParamsKey()
	f.Fuzz(func(t *testing.T, v []byte) {
		c, err := decodeCursorValue("okta", v, key)
		if err != nil {
			return
		}
		enc, err := appendCursorValue(nil, &c)
		if err != nil {
			return // a year past 9999 decodes but is not JSON: Put refuses it the same way
		}
		again, err := decodeCursorValue("okta", enc, key)
		if err != nil || !reflect.DeepEqual(normalCursor(again), normalCursor(c)) {
			t.Fatalf("re-encoding %+v gives %+v, %v", c, again, err)
		}
	})
}

// normalCursor makes an empty RecentIDs nil (omitempty drops it) and compares times as instants.
func normalCursor(c CursorRecord) CursorRecord {
	if len(c.RecentIDs) == 0 {
		c.RecentIDs = nil
	}
	c.LastTime = time.Unix(0, 0).Add(c.LastTime.Sub(time.Unix(0, 0)))
	return c
}

// FuzzDecodeOutputPositions: per-output positions decode to a map that encodes back to the same map.
func FuzzDecodeOutputPositions(f *testing.F) {
	f.Add(appendOutputPositions(nil, map[string]int64{"es": 1234, "s3": 99, "": -1}))
	f.Add(appendOutputPositions(nil, map[string]int64{}))
	f.Add([]byte{outputPositionsV1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{outputPositionsV1 + 1})
	f.Fuzz(func(t *testing.T, v []byte) {
		pos, err := decodeOutputPositions(v)
		if err != nil {
			return
		}
		again, err := decodeOutputPositions(appendOutputPositions(nil, pos))
		if err != nil || !maps.Equal(again, pos) {
			t.Fatalf("re-encoding %v gives %v, %v", pos, again, err)
		}
	})
}

// FuzzDecodeOutputIDValue: the outputs that hold an id decode to names that encode back to the same names.
func FuzzDecodeOutputIDValue(f *testing.F) {
	f.Add(appendOutputIDValue(nil, []string{"s3", "es"}))
	f.Add(appendOutputIDValue(nil, nil))
	f.Add([]byte{outputIDsV1, 0x80})
	f.Add([]byte{outputIDsV1, 5, 'a'})
	f.Fuzz(func(t *testing.T, v []byte) {
		names, err := decodeOutputIDValue(v)
		if err != nil {
			return
		}
		again, err := decodeOutputIDValue(appendOutputIDValue(nil, names))
		if err != nil || !slices.Equal(again, slices.Sorted(slices.Values(names))) {
			t.Fatalf("re-encoding %q gives %q, %v", names, again, err)
		}
	})
}
