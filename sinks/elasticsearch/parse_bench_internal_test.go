package elasticsearch

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkParseWithErrors: a _bulk response of 1000 items of which every tenth failed (a mapping error with a
// cause, or a 429), "errors":true first: every item is read, the failed ones' errors decoded.
func BenchmarkParseWithErrors(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"took":30,"errors":true,"items":[`)
	for i := range 1000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		id := strconv.Itoa(i)
		switch {
		case i%20 == 5:
			sb.WriteString(`{"create":{"_index":"logs-2026.11.21","_id":"` + id + `","status":400,"error":{"type":"document_parsing_exception",` +
				`"reason":"[1:78] failed to parse field [http.response.status_code] of type [long] in document with id '` + id + `'",` +
				`"caused_by":{"type":"illegal_argument_exception","reason":"For input string: \"OK\""}}}}`)
		case i%20 == 15:
			sb.WriteString(`{"create":{"_index":"logs-2026.11.21","_id":"` + id + `","status":429,"error":{"type":"es_rejected_execution_exception",` +
				`"reason":"rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0]"}}}`)
		default:
			sb.WriteString(`{"create":{"_index":"logs-2026.11.21","_id":"` + id + `","_version":1,"result":"created",` +
				`"_shards":{"total":2,"successful":1,"failed":0},"_seq_no":` + id + `,"_primary_term":1,"status":201}}`)
		}
	}
	sb.WriteString(`]}`)
	body := []byte(sb.String())
	p := newResponseParser()
	var res bulkResult
	r := bytes.NewReader(body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(body)
		if err := p.parse(r, &res); err != nil || len(res.items) != 1000 || res.items[5].err == nil {
			b.Fatal(err, len(res.items))
		}
	}
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "items/s")
}
