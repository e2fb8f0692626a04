package redact

import "testing"

func TestSecretName(t *testing.T) {
	for name, want := range map[string]bool{
		"Authorization": true, "X-Api-Key": true, "access_token": true, "client_secret": true, "Cookie": true,
		"X-Amz-Signature": true, "limit": false, "filter": false, "since": false, "Content-Type": false,
	} {
		if got := SecretName(name); got != want {
			t.Errorf("SecretName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://u:pw@x.okta.com/api/v1/logs?after=a&token=t0k&limit=5": "https://R@x.okta.com/api/v1/logs?after=a&token=R&limit=5",
		"https://x/p?limit=5&api%5Fkey=k&z=1":                           "https://x/p?limit=5&api%5Fkey=R&z=1",
		"https://x/p?after=a&limit=5":                                   "https://x/p?after=a&limit=5",
		"not a url":                                                     "not a url",
		"c2":                                                            "c2",
	} {
		if got := URL(in, "R", SecretName); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
}
