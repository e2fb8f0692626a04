package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/flickerlog/flicker/internal/httpclient"
)

// FuzzNextLink: the next link of any Link fields is the target of one of their links (what lies between a '<'
// and the next '>'), and one that names rel next; fields without "next" in them (quoted-pair escapes aside)
// never give one.
func FuzzNextLink(f *testing.F) {
	for _, s := range []string{`<https://o/api/v1/logs?a=1>; rel="self"`,
		`<https://o/api/v1/logs?after=x>; rel="next"`, `<https://o/a?x=1,2>; rel="self", <https://o/b>; rel="next"`,
		`<https://o/b>; title="a, b; c"; REL=next`, `<https://o/b>; rel="last next"`, `<https://o/a>; rel="nextpage"`,
		`garbage`, `<https://o/c>;rel=next`, `<https://o/d>; rel="ne\xt"; x="unterminated`, `<>; rel=next`,
		`<https://acme.okta.com/api/v1/logs?limit=2&after=1714557601000_1>; rel="next"`} {
		f.Add(s, `<https://o/self>; rel="self"`)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		h := http.Header{}
		h.Add("Link", a)
		h.Add("Link", b)
		got := nextLink(h)
		if got == "" {
			return
		}
		// A quoted rel may escape any of its letters: rel="ne\xt" is next.
		if !strings.Contains(strings.ToLower(strings.ReplaceAll(a+"\n"+b, `\`, "")), "next") {
			t.Fatalf("%q, %q: next link %q without a rel next", a, b, got)
		}
		if strings.Contains(got, ">") || (!strings.Contains(a, "<"+got+">") && !strings.Contains(b, "<"+got+">")) {
			t.Fatalf("%q, %q: next link %q is not the target of a link", a, b, got)
		}
	})
}

// FuzzResolveNext: a next link, relative or absolute, resolves to a URL on the endpoint's origin without a
// fragment, or to an error that does not quote the link's query (it may hold a key).
func FuzzResolveNext(f *testing.F) {
	for _, s := range []string{"https://acme.okta.com/api/v1/logs?after=1", "/api/v1/logs?after=2", "?after=3",
		"//evil.example/x?token=k", "https://acme.okta.com:443/x#frag", "HTTPS://ACME.OKTA.COM/y",
		"http://acme.okta.com/z", "https://acme.okta.com.evil.example/", "%zz?token=k", "https://[::1/",
		"https://user:pass@acme.okta.com/x"} {
		f.Add(s)
	}
	endpoint, err := url.Parse("https://acme.okta.com/api/v1/logs?limit=100")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		got, err := resolveNext(endpoint, endpoint, ref)
		if err != nil {
			if q := strings.Index(ref, "?"); q >= 0 && len(ref)-q > 8 && strings.Contains(err.Error(), ref[q:]) {
				t.Fatalf("error %q quotes the link's query", err)
			}
			return
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("resolved %q to %q, which does not parse: %v", ref, got, err)
		}
		if !httpclient.SameOrigin(u, endpoint) || u.Fragment != "" {
			t.Fatalf("resolved %q to %q: another origin, or a fragment", ref, got)
		}
	})
}

// FuzzParseGeneric: the generic API source's paths (items_path, a body cursor, has_more, a next URL, id and time
// paths) read any body without panicking; what they find are slices of the body, and an array body gives the
// items encoding/json finds.
func FuzzParseGeneric(f *testing.F) {
	for _, s := range []string{
		`{"data":[{"id":"a","ts":"2026-11-21T10:00:00Z"},{"id":2,"ts":1795255200}],"next":"c2","more":true}`,
		`{"@odata.context":"x","value":[{"id":"a"}],"@odata.nextLink":"https://g/x?$skiptoken=1"}`,
		`{"data":{"not":"an array"}}`, `{"data":[],"next":null,"more":false}`, `{"data":[1,"2",null]}`,
		`{"meta":{"cursor":"x"},"data":[{"meta":{"id":"deep"}}]}`, `{"data":[{"id":"a\u002db"}]`, `[]`, ``,
	} {
		f.Add([]byte(s), uint8(0))
	}
	configs := []Config{
		{Pagination: PaginationBodyCursor, ItemsPath: "data", CursorPath: "next", HasMorePath: "more", IDPath: "id",
			TimePath: "ts"},
		{Pagination: PaginationNextURL, ItemsPath: "value", NextURLPath: "@odata.nextLink", IDPath: "id"},
		{Pagination: PaginationBodyCursor, ItemsPath: "data", CursorPath: "meta.cursor", IDPath: "meta.id"},
	}
	parsers := make([]*parser, len(configs))
	for i := range configs {
		configs[i].SetDefaults()
		parsers[i] = newParser(&configs[i])
	}
	f.Fuzz(func(t *testing.T, body []byte, which uint8) {
		i := int(which) % len(parsers)
		var pg page
		if err := parsers[i].parse(body, &pg); err != nil {
			return
		}
		for _, v := range [][]byte{pg.cursor, pg.hasMore, pg.nextURL} {
			if v != nil && !bytes.Contains(body, v) {
				t.Fatalf("%q: %q is not part of the body", body, v)
			}
		}
		for _, it := range pg.items {
			if !bytes.Contains(body, it.raw) {
				t.Fatalf("%q: item %q is not part of the body", body, it.raw)
			}
		}
		var doc map[string]json.RawMessage
		if json.Unmarshal(body, &doc) != nil {
			return
		}
		var elems []json.RawMessage
		if raw, ok := doc[configs[i].ItemsPath]; ok && json.Unmarshal(raw, &elems) == nil &&
			len(elems) != len(pg.items) && bytes.Count(body, []byte(`"`+configs[i].ItemsPath+`"`)) == 1 {
			t.Fatalf("%q: %d items, json finds %d", body, len(pg.items), len(elems))
		}
	})
}
