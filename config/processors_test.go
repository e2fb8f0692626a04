package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/flickerlog/flicker/config"
)

// Every input kind takes a processors list; the config keeps it by input name, out of the sources' own config.
func TestProcessorsOnEveryInputKind(t *testing.T) {
	c, err := config.Load(filepath.Join("testdata", "processors.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Processors
	if len(p) != 6 {
		t.Fatalf("processors for %d inputs, want 6 (every kind, not the input without a list): %v", len(p), p)
	}
	tomcat := p["tomcat"]
	if len(tomcat) != 3 || tomcat[0].Dissect == nil || tomcat[0].Dissect.Pattern != "%{client.ip} %{rest}" ||
		tomcat[1].Timestamp == nil || !tomcat[1].Timestamp.Remove || tomcat[2].Drop == nil ||
		tomcat[2].Drop.If.Equals == nil || *tomcat[2].Drop.If.Equals != "200" {
		t.Errorf("tomcat's processors decoded as %+v", tomcat)
	}
	for name, ok := range map[string]bool{
		"docker": len(p["docker"]) == 1 && p["docker"][0].ParseJSON != nil,
		"pods":   len(p["pods"]) == 1 && len(p["pods"][0].ExcludeLines) == 1,
		"audit":  len(p["audit"]) == 1 && p["audit"][0].DropFields != nil,
		"net":    len(p["net"]) == 1 && p["net"][0].AddFields != nil && p["net"][0].AddFields.Fields["site"] == "paris",
		"ingest": len(p["ingest"]) == 1 && p["ingest"][0].Rename != nil && p["ingest"][0].Rename.Fields[0].To == "b",
	} {
		if !ok {
			t.Errorf("input %s: processors decoded as %+v", name, p[name])
		}
	}
	if _, ok := p["plain"]; ok {
		t.Error("an input without processors has a list")
	}
}

// The processors list is decoded as strictly as the rest: an unknown key names its line, a misspelled
// processors key is suggested.
func TestProcessorsKeysAreStrict(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "processors_errors.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = config.Parse(data, "processors_errors.yaml")
	// The misspelled keys leave their fields empty: the processors' own checks say so too, at the entry.
	want := []wantErr{
		{4, 5, "log_files[0]", `unknown key "procesors" (did you mean "processors"?)`},
		{9, 9, "log_files[1].processors[0].dissect.pattern", ""},
		{9, 19, "log_files[1].processors[0].dissect", `unknown key "patern" (did you mean "pattern"?)`},
		{10, 9, "log_files[1].processors[1].timestamp.layouts", ""},
		{12, 11, "log_files[1].processors[1].timestamp", `unknown key "layout" (did you mean "layouts"?)`},
	}
	checkErrors(t, err, want)
}

func checkErrors(t *testing.T, err error, want []wantErr) {
	t.Helper()
	var errs config.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %v, want config.Errors", err)
	}
	if len(errs) < len(want) {
		t.Fatalf("%d errors, want at least %d:\n%v", len(errs), len(want), err)
	}
	for i, w := range want {
		e := errs[i]
		if e.Line != w.line || e.Column != w.column || e.Path != w.path || (w.msg != "" && e.Msg != w.msg) {
			t.Errorf("error %d = %d:%d %s: %s\nwant %d:%d %s: %s", i, e.Line, e.Column, e.Path, e.Msg, w.line,
				w.column, w.path, w.msg)
		}
	}
}

// A bad pattern, zone or layout in a processor is a config error at its field's line (the messages are the
// processors package's).
func TestProcessorsErrorsNameTheFieldAndLine(t *testing.T) {
	_, err := config.Load(filepath.Join("testdata", "processors_patterns.yaml"))
	checkErrors(t, err, []wantErr{
		{6, 11, "log_files[0].processors[0].parse_regex.pattern", ""},
		{8, 19, "log_files[0].processors[2].dissect.pattern", ""},
		{12, 52, "log_files[1].processors[0].timestamp.timezone", ""},
	})
	if n := len(err.(config.Errors)); n != 3 {
		t.Errorf("%d errors, want 3:\n%v", n, err)
	}
}
