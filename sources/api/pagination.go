package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/flickerlog/flicker/internal/httpclient"
)

// nextLink returns the target of the rel="next" link among the Link header fields of h (RFC 8288: several
// fields, several comma-separated links per field, a rel holding several space-separated relation types), or
// "" when there is none.
func nextLink(h http.Header) string {
	for _, field := range h.Values("Link") {
		if target := findRel(field, "next"); target != "" {
			return target
		}
	}
	return ""
}

// findRel returns the target of the first link of one Link field whose rel includes rel.
func findRel(s, rel string) string {
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" || s[0] != '<' {
			return ""
		}
		end := strings.IndexByte(s, '>')
		if end < 0 {
			return ""
		}
		target := s[1:end]
		s = s[end+1:]
		matched := false
		// Parameters: ; name [= token | quoted-string], up to the next link's comma.
		for {
			s = strings.TrimLeft(s, " \t")
			if s == "" || s[0] == ',' {
				break
			}
			if s[0] != ';' {
				return "" // malformed: stop rather than guess
			}
			s = strings.TrimLeft(s[1:], " \t")
			n := strings.IndexAny(s, "=;, \t")
			if n < 0 {
				n = len(s)
			}
			name := s[:n]
			s = strings.TrimLeft(s[n:], " \t")
			var value string
			if s != "" && s[0] == '=' {
				s = strings.TrimLeft(s[1:], " \t")
				value, s = paramValue(s)
			}
			if strings.EqualFold(name, "rel") {
				for _, r := range strings.Fields(value) {
					if strings.EqualFold(r, rel) {
						matched = true
					}
				}
			}
		}
		if matched {
			return target
		}
	}
}

// paramValue reads a token or a quoted string at the start of s and returns it and the rest.
func paramValue(s string) (value, rest string) {
	if s == "" || s[0] != '"' {
		n := strings.IndexAny(s, ";, \t")
		if n < 0 {
			return s, ""
		}
		return s[:n], s[n:]
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), s[i+1:]
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), ""
}

// errOtherOrigin is a next link or redirect that leaves the endpoint's scheme, host and port.
var errOtherOrigin = errors.New("points to another host: not followed, the credentials stay with the endpoint")

// resolveNext turns a next link or next URL (possibly relative) into an absolute URL on the endpoint's origin.
func resolveNext(base *url.URL, endpoint *url.URL, ref string) (string, error) {
	r, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("next link: %w", stripURL(err))
	}
	u := base.ResolveReference(r)
	if !httpclient.SameOrigin(u, endpoint) {
		return "", fmt.Errorf("next link to %s %w", httpclient.Shown(u), errOtherOrigin)
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String(), nil
}

// maxRedirects is how many redirects one request follows.
const maxRedirects = 5

// checkRedirect follows redirects only on the first request's origin: net/http drops Authorization on another
// host but would still send the configured headers, which may hold keys.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	if !httpclient.SameOrigin(req.URL, via[0].URL) {
		return fmt.Errorf("redirect to %s %w", httpclient.Shown(req.URL), errOtherOrigin)
	}
	return nil
}
