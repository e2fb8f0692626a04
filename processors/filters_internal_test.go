package processors

import (
	"fmt"
	"sync"
	"testing"

	"github.com/flickerlog/flicker/engine"
)

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

func TestDropAndLines(t *testing.T) {
	// Each event: a JSON line parsed at the top level, message kept.
	lines := []string{
		`{"level":"info","code":200,"msg":"GET /health ok"}`,
		`{"level":"error","code":500,"msg":"db down"}`,
		`{"level":"debug","msg":"cache miss"}`,
		`{"level":"info","code":"200","msg":"POST /x","http":{"status":404}}`,
	}
	tests := []struct {
		name string
		proc Config
		kept []int // indexes of the lines kept
	}{
		{"equals a number's text", Config{Drop: &DropConfig{If: Condition{Field: "code", Equals: str("200")}}},
			[]int{1, 2}},
		{"equals on the message", Config{Drop: &DropConfig{If: Condition{Equals: str(lines[2])}}}, []int{0, 1, 3}},
		{"contains", Config{Drop: &DropConfig{If: Condition{Field: "msg", Contains: "GET"}}}, []int{1, 2, 3}},
		{"regex on the message by default", Config{Drop: &DropConfig{If: Condition{Regex: `"level":"(debug|info)"`}}},
			[]int{1}},
		{"exists", Config{Drop: &DropConfig{If: Condition{Field: "code", Exists: yes()}}}, []int{2}},
		{"not exists", Config{Drop: &DropConfig{If: Condition{Field: "code", Exists: no()}}}, []int{0, 1, 3}},
		{"path into an object", Config{Drop: &DropConfig{If: Condition{Field: "http.status", Equals: str("404")}}},
			[]int{0, 1, 2}},
		{"missing field keeps", Config{Drop: &DropConfig{If: Condition{Field: "none", Contains: "x"}}},
			[]int{0, 1, 2, 3}},
		{"include_lines", Config{IncludeLines: []string{"error", `^\{"level":"debug"`}}, []int{1, 2}},
		{"exclude_lines", Config{ExcludeLines: []string{"health", `miss"\}$`}}, []int{1, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustBuild(t, []Config{{ParseJSON: &ParseJSONConfig{KeepMessage: true}}, tt.proc})
			var kept []int
			for i, line := range lines {
				if doc := encode(t, c, engine.Event{Time: readTime, Stream: fileStream(""), Offset: 0,
					Message: []byte(line)}); doc != nil {
					kept = append(kept, i)
				}
			}
			if fmt.Sprint(kept) != fmt.Sprint(tt.kept) {
				t.Errorf("kept %v, want %v", kept, tt.kept)
			}
		})
	}
}

func TestLinesOnEmptyMessage(t *testing.T) {
	c := mustBuild(t, []Config{{ExcludeLines: []string{"^$"}}})
	if encode(t, c, engine.Event{Time: readTime, Stream: fileStream(""), Offset: 0}) != nil {
		t.Error("empty line not excluded")
	}
	c = mustBuild(t, []Config{{IncludeLines: []string{"."}}})
	if encode(t, c, engine.Event{Time: readTime, Stream: fileStream(""), Offset: 0}) != nil {
		t.Error("empty line included")
	}
}

func TestEdits(t *testing.T) {
	line := `{"a":"1","http":{"status":200,"method":"GET","req":{"id":"r1"}},"user":{"name":"bob"},"bad":"x` +
		"\xff" + `"}`
	tests := []struct {
		name  string
		procs []Config
		want  map[string]any
	}{
		{"add_fields at the top", []Config{{AddFields: &AddFieldsConfig{Fields: map[string]string{"env": "prod",
			"a": "2", "http.version": "1.1"}}}},
			map[string]any{"env": "prod", "a": "2", "http.version": "1.1", "http.status": float64(200)}},
		{"add_fields under a target", []Config{{AddFields: &AddFieldsConfig{Target: "meta",
			Fields: map[string]string{"env": "prod"}}}},
			map[string]any{"meta.env": "prod", "a": "1"}},
		{"drop_fields into a parsed object", []Config{{DropFields: &DropFieldsConfig{
			Fields: []string{"http.method", "http.req.id", "user"}}}},
			map[string]any{"http.status": float64(200), "http.method": nil, "http.req": nil, // an object left empty goes
				"user": nil, "error": nil}},
		// A failed step leaves the fields as they were: what it dropped before the missing field is back.
		{"drop_fields missing", []Config{{DropFields: &DropFieldsConfig{Fields: []string{"a", "http.req.id", "user",
			"nope"}}}},
			map[string]any{"a": "1", "http.req.id": "r1", "user.name": "bob", "http.method": "GET",
				"error.message": `drop_fields: field "nope" is missing (set ignore_missing: true to pass such events unchanged)`}},
		{"drop_fields missing ignored", []Config{{DropFields: &DropFieldsConfig{Fields: []string{"nope"},
			IgnoreMissing: true}}}, map[string]any{"a": "1", "error": nil}},
		{"rename nested", []Config{{Rename: &RenameConfig{Fields: []RenamePair{{From: "http.req", To: "request"},
			{From: "user.name", To: "user"}, {From: "a", To: "x.y.z"}}}}},
			map[string]any{"request.id": "r1", "http.req": nil, "http.status": float64(200), "user": "bob",
				"x.y.z": "1", "a": nil}},
		{"rename missing", []Config{{Rename: &RenameConfig{Fields: []RenamePair{{From: "nope", To: "x"}}}}},
			map[string]any{"error.message": `rename: field "nope" is missing (set ignore_missing: true to pass such events unchanged)`}},
		{"rename missing after renames", []Config{{Rename: &RenameConfig{Fields: []RenamePair{
			{From: "http.req", To: "request"}, {From: "user.name", To: "a"}, {From: "nope", To: "x"}}}}},
			map[string]any{"http.req.id": "r1", "request": nil, "user.name": "bob", "a": "1", "x": nil,
				"error.message": `rename: field "nope" is missing (set ignore_missing: true to pass such events unchanged)`}},
		{"rename to message", []Config{{Rename: &RenameConfig{Fields: []RenamePair{{From: "user.name", To: "message"}}}}},
			map[string]any{"message": "bob", "user": nil}},
		{"non-UTF-8 value replaced", nil, map[string]any{"bad": "x\uFFFD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			procs := append([]Config{{ParseJSON: &ParseJSONConfig{}}}, tt.procs...)
			c := mustBuild(t, procs)
			doc := encode(t, c, engine.Event{Time: readTime, Stream: fileStream(""), Offset: 0, Message: []byte(line)})
			for path, v := range tt.want {
				if got := at(doc, path); fmt.Sprint(got) != fmt.Sprint(v) {
					t.Errorf("%s = %#v, want %#v", path, got, v)
				}
			}
		})
	}
}

// TestProcessConcurrent runs one chain from 8 goroutines (run it with -race): every event comes out with its
// own fields, never another's.
func TestProcessConcurrent(t *testing.T) {
	c := mustBuild(t, []Config{
		{Dissect: &DissectConfig{Pattern: "n ts rest"}},
		{Timestamp: &TimestampConfig{Field: "ts", Layouts: []string{"UNIX"}, Remove: true}},
		{Drop: &DropConfig{If: Condition{Field: "rest", Equals: str("drop")}}},
	})
	st := fileStream(`,"fields":{"env":"prod"}`)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				rest := "keep"
				if i%5 == 0 {
					rest = "drop"
				}
				n := fmt.Sprintf("%d-%d", g, i)
				ev := engine.Event{Time: readTime, Stream: st, Offset: int64(i),
					Message: fmt.Appendf(nil, "%s %d %s", n, 1700000000+i, rest)}
				kept := c.Process(&ev)
				if kept != (rest == "keep") {
					errs <- fmt.Errorf("event %s kept %v", n, kept)
					return
				}
				if !kept {
					continue
				}
				if want := fmt.Sprintf(`,"n":%q,"rest":"keep","event":{"ingested":"2026-12-07T10:00:00.000000005Z"}`, n); string(ev.Extra) != want {
					errs <- fmt.Errorf("event %s: extra %s, want %s", n, ev.Extra, want)
					return
				}
				if ev.Time.Unix() != int64(1700000000+i) {
					errs <- fmt.Errorf("event %s: time %v", n, ev.Time)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
