package kubemeta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

const podJSON = `{"metadata":{"name":"shop-api-5d9f8b7c6-x2x7q","namespace":"shop","uid":"0c6c7f52-1111-4c39-a2a9-3c1b2e3f4a5b",` +
	`"resourceVersion":"8812","labels":{"app":"shop-api","pod-template-hash":"5d9f8b7c6"},` +
	`"annotations":{"team":"payments"},"ownerReferences":[{"kind":"ReplicaSet","name":"shop-api-5d9f8b7c6",` +
	`"controller":true}]},"spec":{"nodeName":"node-1"}}`

// FuzzDecodeList: a pod list from the API server is decoded item by item; wherever encoding/json reads the same
// body as a list with a resourceVersion, decodeList gives the same version, continue token and pods, and every
// pod it gives turns into a Pod without a panic.
func FuzzDecodeList(f *testing.F) {
	f.Add([]byte(`{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"8813","continue":"eyJ2Ijo"},` +
		`"items":[` + podJSON + `,` + podJSON + `]}`))
	f.Add([]byte(`{"metadata":{"resourceVersion":"1"},"items":[]}`))
	f.Add([]byte(`{"items":[` + podJSON + `]}`))
	f.Add([]byte(`{"metadata":{"resourceVersion":"1"},"items":{}}`))
	f.Add([]byte(`{"metadata":{"resourceVersion":"1"},"items":[1]}`))
	f.Add([]byte(`[]`))
	keep := map[string]struct{}{"team": {}}
	f.Fuzz(func(t *testing.T, body []byte) {
		var pods []podObject
		rv, cont, err := decodeList(bytes.NewReader(body), func(p *podObject) {
			_ = podOf(p, keep)
			pods = append(pods, *p)
		})
		var list struct {
			Metadata struct {
				ResourceVersion string `json:"resourceVersion"`
				Continue        string `json:"continue"`
			} `json:"metadata"`
			Items []podObject `json:"items"`
		}
		// decodeList calls each for every items array, where encoding/json keeps the last one: compare lists
		// without a repeated member.
		if json.Unmarshal(body, &list) != nil || list.Metadata.ResourceVersion == "" || !singleMembers(body) {
			return
		}
		if err != nil {
			t.Fatalf("%q: a list encoding/json reads is refused: %v", body, err)
		}
		if rv != list.Metadata.ResourceVersion || cont != list.Metadata.Continue || len(pods) != len(list.Items) {
			t.Fatalf("%q: rv %q cont %q %d pods, json reads %q %q %d", body, rv, cont, len(pods),
				list.Metadata.ResourceVersion, list.Metadata.Continue, len(list.Items))
		}
	})
}

// singleMembers reports whether body is a JSON object whose members each appear once, metadata and items
// spelled in lower case.
func singleMembers(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		key, ok := tok.(string)
		// encoding/json also takes "Metadata" for metadata; the API server writes the lower-case names only.
		folded := strings.EqualFold(key, "metadata") || strings.EqualFold(key, "items")
		if err != nil || !ok || seen[key] || (folded && key != "metadata" && key != "items") {
			return false
		}
		seen[key] = true
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return true
}

// answerFunc answers every request with the fuzzer's body, without a network.
type answerFunc func(*http.Request) *http.Response

func (f answerFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req), nil }

// FuzzWatch: a watch stream (newline-separated events, as the API server sends them) gives only pod events of the
// three known types, returns the resourceVersion of the last event that had one (or the one it started from),
// and ends with nil, a *StatusError for an ERROR event, or a watch error.
func FuzzWatch(f *testing.F) {
	f.Add([]byte(`{"type":"ADDED","object":` + podJSON + "}\n" +
		`{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"8900"}}}` + "\n" +
		`{"type":"DELETED","object":` + podJSON + "}\n"))
	f.Add([]byte(`{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old"}}`))
	f.Add([]byte(`{"type":"MODIFIED","object":{"metadata":{"resourceVersion":""}}}{"type":"SURPRISE"}`))
	f.Add([]byte(`{"type":"ADDED","object":[]}`))
	f.Add([]byte(""))
	keep := map[string]struct{}{"team": {}}
	f.Fuzz(func(t *testing.T, body []byte) {
		c := &apiClient{pods: "http://127.0.0.1:9/api/v1/pods", selector: "spec.nodeName=node-1",
			http: &http.Client{Transport: answerFunc(func(req *http.Request) *http.Response {
				return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(bytes.NewReader(body)),
					Request: req, Header: http.Header{}}
			})}}
		versions := map[string]bool{"start": true}
		dec := json.NewDecoder(bytes.NewReader(body))
		for {
			var ev struct {
				Object struct {
					Metadata struct {
						ResourceVersion string `json:"resourceVersion"`
					} `json:"metadata"`
				} `json:"object"`
			}
			if dec.Decode(&ev) != nil {
				break
			}
			versions[ev.Object.Metadata.ResourceVersion] = true
		}
		events := 0
		rv, got, err := c.watch(context.Background(), "start", func(typ string, pod *podObject) {
			if typ != "ADDED" && typ != "MODIFIED" && typ != "DELETED" {
				t.Fatalf("event of type %q", typ)
			}
			_ = podOf(pod, keep)
			events++
		})
		if !versions[rv] {
			t.Fatalf("%q: watch returned resourceVersion %q, which no event had", body, rv)
		}
		if events > 0 && !got {
			t.Fatalf("%d events, but got is false", events)
		}
		var se *StatusError
		if err != nil && !errors.As(err, &se) && !strings.HasPrefix(err.Error(), "watch: ") {
			t.Fatalf("watch error %q is neither a StatusError nor a watch error", err)
		}
	})
}
