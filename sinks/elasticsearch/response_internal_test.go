package elasticsearch

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// wantItem is what the parser must read of one item.
type wantItem struct {
	status             int
	typ, reason        string
	causeType, reason2 string
}

func TestParseFixtures(t *testing.T) {
	const conflict = "version conflict, document already exists (current version [1])"
	tests := []struct {
		file    string
		errors  bool
		skipped bool
		items   []wantItem
	}{
		{"es8_bulk_mixed.json", true, false, []wantItem{
			{status: 201},
			{status: 200},
			{409, "version_conflict_engine_exception", "[9b1c2d3e4f5g6h7j8k9m0n1p2q]: " + conflict, "", ""},
			{429, "es_rejected_execution_exception", "rejected execution of primary operation [", "", ""},
			{400, "document_parsing_exception", "[1:78] failed to parse field [http.response.status_code]",
				"illegal_argument_exception", `For input string: "OK"`},
			{500, "illegal_state_exception", "translog closed — café 😀 / \t", "", ""},
			{404, "document_missing_exception", "[5]: document missing", "", ""},
		}},
		{"es8_bulk_filtered.json", true, false, []wantItem{
			{status: 201},
			{409, "version_conflict_engine_exception", "[9b1c2d3e4f5g6h7j8k9m0n1p2q]: " + conflict, "", ""},
			{429, "es_rejected_execution_exception", "rejected execution of coordinating operation", "", ""},
			{400, "document_parsing_exception", "[1:15] failed to parse field [count] of type [long]",
				"illegal_argument_exception", `For input string: "ten"`},
			{503, "unavailable_shards_exception", "[logs-2026.11.21][0] primary shard is not active", "", ""},
		}},
		{"es7_bulk_ok.json", false, true, nil},
		{"es7_bulk_errors.json", true, false, []wantItem{
			{status: 201},
			{400, "mapper_parsing_exception", "failed to parse field [count] of type [long] in document with id '2'",
				"illegal_argument_exception", `For input string: "ten"`},
			{409, "version_conflict_engine_exception", "[3]: " + conflict, "", ""},
			{429, "es_rejected_execution_exception", "rejected execution of processing of [12345]", "", ""},
		}},
		{"opensearch2_bulk_mixed.json", true, false, []wantItem{
			{status: 201},
			{409, "version_conflict_engine_exception", "[tt2229499]: " + conflict, "", ""},
			{429, "rejected_execution_exception", "rejected execution of coordinating operation", "", ""},
			{400, "mapper_parsing_exception", "failed to parse field [year] of type [integer]",
				"number_format_exception", `For input string: "nineteen seventy-two"`},
			{404, "document_missing_exception", "[_doc][tt1392214]: document missing", "", ""},
			{503, "unavailable_shards_exception", "[movies][0] primary shard is not active", "", ""},
			{status: 200},
		}},
	}
	p := newResponseParser()
	var res bulkResult
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if err := p.parse(bytes.NewReader(data), &res); err != nil {
				t.Fatal(err)
			}
			if res.errors != tt.errors || res.skipped != tt.skipped || len(res.items) != len(tt.items) {
				t.Fatalf("errors %t skipped %t items %d, want %t %t %d", res.errors, res.skipped, len(res.items),
					tt.errors, tt.skipped, len(tt.items))
			}
			for i, w := range tt.items {
				got := res.items[i]
				if got.status != w.status {
					t.Errorf("item %d: status %d, want %d", i, got.status, w.status)
				}
				if w.typ == "" {
					if got.err != nil {
						t.Errorf("item %d: error %+v, want none", i, got.err)
					}
					continue
				}
				e := got.err
				if e == nil || e.Type != w.typ || !strings.HasPrefix(e.Reason, w.reason) || e.CauseType != w.causeType ||
					e.CauseReason != w.reason2 {
					t.Errorf("item %d: error %+v, want type %q reason %q… cause %q %q", i, e, w.typ, w.reason,
						w.causeType, w.reason2)
				}
			}
		})
	}
}

func TestParseShapes(t *testing.T) {
	tests := []struct {
		name, body string
		statuses   []int
		skipped    bool
	}{
		{"errors after items", `{"items":[{"index":{"status":201}},{"index":{"status":400,"error":"bad"}}],"errors":true}`,
			[]int{201, 400}, false},
		{"errors false after items", `{"items":[{"index":{"status":201}}],"errors":false}`, []int{201}, false},
		{"errors false first", `{"errors":false,"items":[{"index":{"status":201}}]}`, nil, true},
		{"errors false first, items later", `{"errors":false,"took":1,"items":[{"index":{"status":201}}],"x":{}}`,
			nil, true},
		{"empty items", `{"took":0,"errors":false,"items":[]}`, nil, true},
		{"empty items, errors true", ` { "errors" : true , "items" : [ ] } `, []int{}, false},
		{"null error", `{"items":[{"create":{"error":null,"status":201}}]}`, []int{201}, false},
		{"unknown members", `{"took":1.5e3,"ingest_took":-1,"x":[null,true,false,{"a":[1,"\"]"]}],` +
			`"items":[{"index":{"_shards":{"total":2},"result":"created","status":201,"x":{}}}]}`, []int{201}, false},
		{"repeated items", `{"items":[{"index":{"status":500}}],"items":[{"index":{"status":201}}]}`, []int{201}, false},
	}
	p := newResponseParser()
	var res bulkResult
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := p.parse(strings.NewReader(tt.body), &res); err != nil {
				t.Fatal(err)
			}
			if res.skipped != tt.skipped {
				t.Fatalf("skipped %t, want %t", res.skipped, tt.skipped)
			}
			if tt.skipped {
				return
			}
			var got []int
			for _, it := range res.items {
				got = append(got, it.status)
			}
			if len(got) != len(tt.statuses) {
				t.Fatalf("statuses %v, want %v", got, tt.statuses)
			}
			for i := range got {
				if got[i] != tt.statuses[i] {
					t.Fatalf("statuses %v, want %v", got, tt.statuses)
				}
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	for _, body := range []string{
		``, `[]`, `{`, `{"items":`, `{"items":[{"index":{"status":201}}`, `{"items":[{"index":{"status":"201"}}]}`,
		`{"items":[{"index":{"status":20.1}}]}`, `{"items":[{"index":{"status":-1}}]}`, `{"errors":tru}`,
		`{"took":1}`, `{"items":[{"index":{"status":201},}]}`, `{"items":[,]}`, `{"a":"\x"}`, `{"a":"x` + "\n" + `"}`,
		`{"items":[{"index":{"status":201}}]]`, `{"items":{}}`, `<html><body>502 Bad Gateway</body></html>`,
		`{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
		`{"items":[{"index":{"status":1234567}}]}`,
		// errors:false claims success, but the body must still be whole and say it once.
		`{"errors":false,"items":[{"ind`, `{"errors":false,"items":[]`,
		`{"errors":false,"errors":true,"items":[{"index":{"status":400}}]}`,
		`{"errors":false,"items":[{"index":{"status":400}}],"errors":true}`,
		`{"errors":true,"items":[{"index":{"status":201}}],"errors":false}`,
		`{"errors":false,"items":[]}0`, `{"items":[]} {"items":[]}`,
	} {
		p := newResponseParser()
		var res bulkResult
		if err := p.parse(strings.NewReader(body), &res); !errors.Is(err, errMalformed) {
			t.Errorf("%.60q: error %v, want errMalformed", body, err)
		}
	}
}

// TestParseSuccessDoesNotAllocate: successful items cost no allocation once the item slice has grown.
func TestParseSuccessDoesNotAllocate(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"took":3,"items":[`)
	for i := range 2048 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"index":{"_index":"logs-2026.11.21","_id":"7q3k4vd2m5n6p8r9s0t1u2v3w4","_version":1,` +
			`"result":"created","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1,` +
			`"status":201}}`)
	}
	b.WriteString(`],"errors":false}`)
	body := []byte(b.String())
	p := newResponseParser()
	var res bulkResult
	r := bytes.NewReader(body)
	allocs := testing.AllocsPerRun(20, func() {
		r.Reset(body)
		if err := p.parse(r, &res); err != nil || len(res.items) != 2048 {
			t.Fatalf("%v, %d items", err, len(res.items))
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per response, want 0", allocs)
	}
}

// FuzzParse: the parser never panics; what it accepts is valid JSON on which encoding/json reads the same errors
// flag (items are skipped only where that flag is false), and the same statuses and error types and reasons.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"items":[{"index":{"status":400,"error":{"type":"t","reason":"\ud800\ud83d\ude00\udc00"}}}],"errors":true}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := newResponseParser()
		var res bulkResult
		if err := p.parse(bytes.NewReader(data), &res); err != nil {
			return
		}
		// What the parser accepts is JSON: it is never more lenient than encoding/json.
		if !json.Valid(data) {
			t.Fatalf("parsed %q, which is not valid JSON", data)
		}
		// encoding/json matches struct fields case-insensitively, Elasticsearch's names are exact: use maps.
		var top map[string]json.RawMessage
		if err := json.Unmarshal(data, &top); err != nil {
			t.Fatalf("parsed %q, encoding/json: %v", data, err)
		}
		// The errors flag the sink acts on is the one encoding/json reads (the last member of that name).
		var flag bool
		if json.Unmarshal(top["errors"], &flag) == nil && top["errors"] != nil && flag != res.errors {
			t.Fatalf("%q: errors %t, encoding/json reads %t", data, res.errors, flag)
		}
		if res.skipped && (top["errors"] == nil || flag) {
			t.Fatalf("%q: items skipped, but encoding/json reads errors %s", data, top["errors"])
		}
		var items []map[string]json.RawMessage
		if json.Unmarshal(top["items"], &items) != nil || res.skipped {
			return
		}
		if len(items) != len(res.items) {
			t.Fatalf("%d items, encoding/json reads %d", len(res.items), len(items))
		}
		for i, m := range items {
			if len(m) != 1 {
				continue
			}
			for _, raw := range m {
				var fields map[string]json.RawMessage
				var status int
				if json.Unmarshal(raw, &fields) != nil || json.Unmarshal(fields["status"], &status) != nil {
					continue
				}
				if status != res.items[i].status {
					t.Fatalf("item %d: status %d, encoding/json reads %d", i, res.items[i].status, status)
				}
				var e map[string]json.RawMessage
				var typ, reason string
				if json.Unmarshal(fields["error"], &e) != nil || e == nil ||
					json.Unmarshal(e["type"], &typ) != nil || json.Unmarshal(e["reason"], &reason) != nil ||
					!utf8.ValidString(typ) || !utf8.ValidString(reason) {
					continue
				}
				if got := res.items[i].err; got == nil || got.Type != typ || got.Reason != reason {
					t.Fatalf("item %d: error %+v, encoding/json reads type %q reason %q", i, got, typ, reason)
				}
			}
		}
	})
}

// BenchmarkParseAllSucceeded: the common answer, "errors":false first and 2048 filtered items, which the parser
// walks without decoding (it must still see the whole object once).
func BenchmarkParseAllSucceeded(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"errors":false,"items":[`)
	for i := range 2048 {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"index":{"status":201}}`)
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
		if err := p.parse(r, &res); err != nil || !res.skipped {
			b.Fatal(err, res.skipped)
		}
		_, _ = io.Copy(io.Discard, r) // what the sink does with the rest of the body
	}
}

// TestParseMemoryIsBoundedByAnItem: the parser holds one item at a time, not the items array: a 2.5 MB response
// costs it a few KiB whether its items are skipped ("errors":false first) or read.
func TestParseMemoryIsBoundedByAnItem(t *testing.T) {
	item := `{"index":{"_index":"logs-2026.11.21","_id":"7q3k4vd2m5n6p8r9s0t1u2v3w4","_version":1,` +
		`"result":"created","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1,"status":201}}`
	items := strings.TrimSuffix(strings.Repeat(item+",", 12000), ",")
	for _, body := range []string{`{"errors":false,"items":[` + items + `]}`, `{"errors":true,"items":[` + items + `]}`} {
		p := newResponseParser()
		res := bulkResult{items: make([]itemResult, 0, 12000)}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if err := p.parse(strings.NewReader(body), &res); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
			t.Errorf("%.20s...: %d bytes allocated for a %d-byte response, want a few KiB", body, n, len(body))
		}
	}
}

// TestParseDepthLimit: the response object counts as level 1 of maxDepth.
func TestParseDepthLimit(t *testing.T) {
	nested := func(levels int) string { // a member nested to levels, the response object included
		return `{"errors":false,"x":` + strings.Repeat("[", levels-1) + strings.Repeat("]", levels-1) + `,"items":[]}`
	}
	var res bulkResult
	if err := newResponseParser().parse(strings.NewReader(nested(maxDepth)), &res); err != nil {
		t.Errorf("%d levels: %v", maxDepth, err)
	}
	if err := newResponseParser().parse(strings.NewReader(nested(maxDepth+1)), &res); !errors.Is(err, errMalformed) {
		t.Errorf("%d levels: %v, want errMalformed", maxDepth+1, err)
	}
}
