package processors

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/eventjson"
)

// A container or API source sets ev.Time to the record's own time: event.ingested is the time the Publisher
// was handed the event, not ev.Time, and @timestamp is the log's.
func TestIngestedIsThePublishersReadTime(t *testing.T) {
	chain, err := Build("pods", []Config{{ParseLogfmt: &ParseLogfmtConfig{}},
		{Timestamp: &TimestampConfig{Field: "ts", Layouts: []string{"RFC3339"}}}})
	if err != nil {
		t.Fatal(err)
	}
	recordTime := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	in := &engine.Input{Name: "pods", Type: "kubernetes"}
	st := engine.NewStream(in, func(int64) {})
	var next recorder
	p := withHelpers(t, &next, map[string]processor{"pods": chain}, 0)
	before := time.Now()
	if err := p.Publish(t.Context(), []engine.Event{{Stream: st, Time: recordTime, Message: []byte("ts=2021-05-06T07:08:09Z"), Pos: 1}}); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	var enc eventjson.Encoder
	var doc map[string]any
	if err := json.Unmarshal(enc.Append(nil, &next.calls[0][0]), &doc); err != nil {
		t.Fatal(err)
	}
	ingested, err := time.Parse(time.RFC3339Nano, at(doc, "event.ingested").(string))
	if err != nil {
		t.Fatal(err)
	}
	if ingested.Before(before) || ingested.After(after) {
		t.Errorf("event.ingested %v, want the Publish call's time, between %v and %v (not the record's %v)",
			ingested, before, after, recordTime)
	}
	if got := at(doc, "@timestamp"); got != "2021-05-06T07:08:09.000000000Z" {
		t.Errorf("@timestamp %v, want the log's 2021-05-06T07:08:09Z", got)
	}
}
