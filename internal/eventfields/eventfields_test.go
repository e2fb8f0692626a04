package eventfields

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRenderNestedAndUnderRoot(t *testing.T) {
	fields := map[string]string{"team": "core", "env": `p"rod`}
	got, err := Render(fields, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := `,"fields":{"env":"p\"rod","team":"core"}`; string(got) != want {
		t.Fatalf("nested: got %s, want %s", got, want)
	}
	got, err = Render(fields, true)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]string
	if err := json.Unmarshal([]byte("{"+string(got[1:])+"}"), &doc); err != nil || doc["env"] != `p"rod` || doc["team"] != "core" {
		t.Fatalf("under root: %s does not splice into an object: %v %v", got, doc, err)
	}
	if got, _ := Render(nil, false); got != nil {
		t.Fatalf("no fields rendered %q", got)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	errs := Validate(map[string]string{"": "x", "api": "y", "ok": "z"}, true)
	if len(errs) != 2 || !strings.HasPrefix(errs[0].Error(), "fields: empty") ||
		!strings.HasPrefix(errs[1].Error(), `fields.api: "api" is a reserved`) {
		t.Fatalf("got %v", errs)
	}
	if errs := Validate(map[string]string{"api": "y"}, false); len(errs) != 0 {
		t.Fatalf("nested fields cannot shadow: %v", errs)
	}
}
