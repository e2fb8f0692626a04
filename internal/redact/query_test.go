package redact

import "testing"

func TestStripAndFillQuery(t *testing.T) {
	secrets := map[string]string{"S3cr/t+1": "params.api_key", "tok": "auth.bearer_token"}
	tests := []struct {
		name, link, stored string
	}{
		{"secret values stripped, cursors named like secrets kept",
			"https://x/p?api_key=S3cr%2Ft%2B1&page_token=abc&next_token=tok2&limit=5",
			"https://x/p?api_key={flicker-secret:params.api_key}&page_token=abc&next_token=tok2&limit=5"},
		{"matched by value whatever the name", "https://x/p?after=c1&sig=tok",
			"https://x/p?after=c1&sig={flicker-secret:auth.bearer_token}"},
		{"a cursor equal to part of a secret is kept", "https://x/p?cursor=S3cr&x=to", "https://x/p?cursor=S3cr&x=to"},
		{"no query", "https://x/p", "https://x/p"},
		{"not a URL", "c2", "c2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored := StripQuery(tt.link, secrets)
			if stored != tt.stored {
				t.Fatalf("StripQuery = %q, want %q", stored, tt.stored)
			}
			filled, ok := FillQuery(stored, map[string]string{"params.api_key": "S3cr/t+1", "auth.bearer_token": "tok"})
			if !ok {
				t.Fatal("FillQuery: a ref is missing")
			}
			back := StripQuery(filled, secrets)
			if back != tt.stored {
				t.Fatalf("FillQuery = %q: does not carry the secrets back (stripped again: %q)", filled, back)
			}
		})
	}
	// The configuration's current value is sent, and a secret it no longer has is reported.
	stored := "https://x/p?api_key={flicker-secret:params.api_key}&after=c1"
	if got, _ := FillQuery(stored, map[string]string{"params.api_key": "new&key"}); got != "https://x/p?api_key=new%26key&after=c1" {
		t.Errorf("FillQuery with a changed value = %q", got)
	}
	if got, ok := FillQuery(stored, map[string]string{}); ok || got != stored {
		t.Errorf("FillQuery without the secret = %q, %v; want the link unchanged and false", got, ok)
	}
	// A ref with a closing brace cannot end the placeholder early.
	weird := map[string]string{"v": "params.a}b"}
	s := StripQuery("https://x/p?q=v", weird)
	if got, ok := FillQuery(s, map[string]string{"params.a}b": "v"}); !ok || got != "https://x/p?q=v" {
		t.Errorf("round trip of ref with a brace: %q -> %q, %v", s, got, ok)
	}
}
