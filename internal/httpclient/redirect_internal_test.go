package httpclient

import (
	"net/url"
	"testing"
)

func TestSameOrigin(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"http://es:9200/_bulk", "http://es:9200/other?x=1", true},
		{"http://ES:80/a", "http://es/b", true},
		{"https://es/a", "https://es:443/b", true},
		{"http://es/a", "https://es/a", false},
		{"https://es/a", "http://es:443/a", false},
		{"http://es:9200/a", "http://es:9201/a", false},
		{"http://es/a", "http://es.attacker.example/a", false},
		{"http://a.es/a", "http://es/a", false},
	}
	for _, tt := range tests {
		a, _ := url.Parse(tt.a)
		b, _ := url.Parse(tt.b)
		if got := SameOrigin(a, b); got != tt.same {
			t.Errorf("SameOrigin(%s, %s) = %t, want %t", tt.a, tt.b, got, tt.same)
		}
	}
}
