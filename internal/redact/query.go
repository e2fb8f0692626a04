package redact

import (
	"net/url"
	"strings"
)

// Secret values in stored links. An API's next link often echoes the request's query, keys included; a link that
// is kept (in a registry, in its snapshots) has each such value replaced by a placeholder naming where the value
// comes from in the configuration, and the configuration's current value is put back when the link is requested.
// Values are matched exactly, never by parameter name: pagination cursors are often named like secrets
// (page_token, next_token) and must survive as they are.

const (
	placeholderStart = "{flicker-secret:"
	placeholderEnd   = "}"
)

// Placeholder is the text that stands for the secret at ref (a configuration path such as "params.api_key" or
// "auth.bearer_token") in a stored link. Braces are not allowed unescaped in a URL query (RFC 3986), so a
// server's link, whose data arrives percent-encoded, never holds one; ref is query-escaped so that it cannot
// end the placeholder early.
func Placeholder(ref string) string {
	return placeholderStart + url.QueryEscape(ref) + placeholderEnd
}

// ParamRef is the ref of the query parameter name of an API source's params: the registry seals old cursors with
// it, and the source fills it back from its configuration.
func ParamRef(name string) string { return "params." + name }

// StripQuery returns link with every query value that equals (once unescaped) a key of secrets replaced by the
// Placeholder of that key's ref (secrets maps a secret value to its ref). Names, other values, their order and
// their encoding are kept; a link without such a value is returned unchanged.
func StripQuery(link string, secrets map[string]string) string {
	head, query, ok := strings.Cut(link, "?")
	if !ok || len(secrets) == 0 {
		return link
	}
	query, frag, hasFrag := strings.Cut(query, "#")
	parts := strings.Split(query, "&")
	changed := false
	for i, p := range parts {
		name, raw, hasValue := strings.Cut(p, "=")
		if !hasValue || raw == "" {
			continue
		}
		v, err := url.QueryUnescape(raw)
		if err != nil {
			v = raw
		}
		if ref, ok := secrets[v]; ok {
			parts[i] = name + "=" + Placeholder(ref)
			changed = true
		}
	}
	if !changed {
		return link
	}
	out := head + "?" + strings.Join(parts, "&")
	if hasFrag {
		out += "#" + frag
	}
	return out
}

// FillQuery is the inverse of StripQuery: every placeholder query value of link is replaced by the escaped
// current value of its ref in values. It reports false, with link unchanged, when a placeholder's ref is not in
// values (the configuration no longer has that secret).
func FillQuery(link string, values map[string]string) (string, bool) {
	head, query, ok := strings.Cut(link, "?")
	if !ok || !strings.Contains(query, placeholderStart) {
		return link, true
	}
	parts := strings.Split(query, "&")
	for i, p := range parts {
		name, raw, _ := strings.Cut(p, "=")
		ref, ok := placeholderRef(raw)
		if !ok {
			continue
		}
		v, ok := values[ref]
		if !ok {
			return link, false
		}
		parts[i] = name + "=" + url.QueryEscape(v)
	}
	return head + "?" + strings.Join(parts, "&"), true
}

// placeholderRef returns the ref of a query value that is a Placeholder.
func placeholderRef(raw string) (string, bool) {
	rest, ok := strings.CutPrefix(raw, placeholderStart)
	if !ok {
		return "", false
	}
	rest, ok = strings.CutSuffix(rest, placeholderEnd)
	if !ok {
		return "", false
	}
	ref, err := url.QueryUnescape(rest)
	return ref, err == nil
}
