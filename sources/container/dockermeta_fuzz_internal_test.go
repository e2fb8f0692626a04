package container

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzDockerConfig: any config.v2.json (dockerd writes it; a container can put anything in its labels) that
// encoding/json reads becomes container metadata that is one valid JSON member, naming the container as the
// file does, and the name and label filters admit it exactly as they admit the name and labels it holds.
func FuzzDockerConfig(f *testing.F) {
	f.Add([]byte(`{"ID":"4f66ad9a0b3f2b1c7c1ae4a8c1f4d7e3a2b5c6d7e8f90123456789abcdef0123","Name":"/shop-api",` +
		`"Config":{"Image":"registry.example/shop-api:1.4","Labels":{"app":"shop","team":"payments"}},` +
		`"State":{"Running":true},"LogPath":"/var/lib/docker/containers/4f66/4f66-json.log"}`))
	f.Add([]byte(`{"Name":"web-1","Config":{"Labels":{"app":"web","\u2028":"\ud800"}}}`))
	f.Add([]byte(`{"ID":"","Name":"/","Config":{"Image":"","Labels":null}}`))
	f.Add([]byte(`{"Name":"/a\"b","Config":{"Labels":{"app":"shop"}}}`))
	f.Add([]byte(`{}`))
	m := &dockerMeta{cfg: &Config{IncludeNames: []string{"shop-*", "web-?"}, ExcludeNames: []string{"*-debug"},
		IncludeLabels: map[string]string{"app": "shop"}}, byDir: map[string]*containerInfo{}}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c configV2
		if json.Unmarshal(b, &c) != nil {
			return
		}
		dir := "/var/lib/docker/containers/4f66ad9a0b3f"
		ci := m.build(dir, &c)
		member, ok := bytes.CutPrefix(ci.meta, []byte(`,"container":`))
		if !ok {
			t.Fatalf("metadata %q is not a container member", ci.meta)
		}
		var doc struct {
			ID     string            `json:"id"`
			Name   string            `json:"name"`
			Labels map[string]string `json:"labels"`
		}
		if err := json.Unmarshal(member, &doc); err != nil {
			t.Fatalf("metadata %q is not a JSON object: %v", member, err)
		}
		if wantID := c.ID; (wantID != "" && doc.ID != wantID) || (wantID == "" && doc.ID != "4f66ad9a0b3f") {
			t.Fatalf("id %q for config id %q", doc.ID, c.ID)
		}
		if json.Valid(b) && bytes.Equal(bytes.ToValidUTF8(b, nil), b) && doc.Name != trimSlash(c.Name) {
			t.Fatalf("name %q for config name %q", doc.Name, c.Name)
		}
		if ci.admit != m.admitted(trimSlash(c.Name), c.Config.Labels) {
			t.Fatalf("admit %t for name %q labels %v", ci.admit, c.Name, c.Config.Labels)
		}
	})
}
