// Package httpclient holds what flicker's HTTP clients share about net/http: the outputs that POST events
// (sinks/http, sinks/elasticsearch) share the redirect policy, so that both follow the same redirects and explain
// the ones they refuse the same way; the API sources share the origin check and how a URL is shown.
package httpclient

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// MaxRedirects is how many redirects one request follows at most.
const MaxRedirects = 5

// CheckRedirect is the http.Client CheckRedirect of the outputs. It follows a redirect only when it is a 307 or
// 308 (which keep the method and body), to the origin (scheme, host and port) of the first request, and within
// MaxRedirects. Any other redirect comes back as the response (http.ErrUseLastResponse), for the output to retry
// its events and tell the operator with NotFollowed:
//   - after a 301, 302 or 303 the client would turn the POST into a GET, whose answer says nothing about the
//     events (a 200 would count them delivered, a 405 would reject them);
//   - on another origin net/http drops Authorization but would still send the configured headers (API keys)
//     and the events to a host nobody configured.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects || !keepsBody(req.Response.StatusCode) || !SameOrigin(req.URL, via[0].URL) {
		return http.ErrUseLastResponse
	}
	return nil
}

// NotFollowed explains, for errors and logs, why the redirect answered with resp was not followed, with where it
// pointed (its credentials, query and fragment left out: they may hold keys). resp must come from a client using
// CheckRedirect; other 3xx statuses are described as not being redirects it follows.
func NotFollowed(resp *http.Response) string {
	code := resp.StatusCode
	target := "without a Location"
	loc, err := resp.Location()
	if err == nil {
		target = "to " + Shown(loc)
	}
	first, hops := resp.Request, 1
	for first != nil && first.Response != nil && first.Response.Request != nil {
		first, hops = first.Response.Request, hops+1
	}
	switch {
	case code == http.StatusMovedPermanently || code == http.StatusFound || code == http.StatusSeeOther:
		return fmt.Sprintf("redirect %s not followed: after a %d the POST would become a GET", target, code)
	case !keepsBody(code):
		return fmt.Sprintf("status %d %s is not a redirect that is followed", code, target)
	case err != nil:
		return fmt.Sprintf("redirect %s not followed", target)
	case first != nil && first.URL != nil && !SameOrigin(loc, first.URL):
		return fmt.Sprintf("redirect %s not followed: it leaves %s, and the headers and events must not go to "+
			"another host", target, Shown(&url.URL{Scheme: first.URL.Scheme, Host: first.URL.Host}))
	case hops > MaxRedirects:
		return fmt.Sprintf("redirect %s not followed: already %d redirects", target, MaxRedirects)
	default:
		return fmt.Sprintf("redirect %s not followed", target)
	}
}

// keepsBody reports whether a redirect status keeps the method and body.
func keepsBody(code int) bool {
	return code == http.StatusTemporaryRedirect || code == http.StatusPermanentRedirect
}

// SameOrigin reports whether a and b have the same scheme, host and port (a missing port is the scheme's).
func SameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) &&
		port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}

// Shown is u without user info, query and fragment: safe for logs and errors (they may hold keys).
func Shown(u *url.URL) string {
	s := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return s.String()
}
