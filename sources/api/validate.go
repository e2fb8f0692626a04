package api

import (
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/flickerlog/flicker/internal/credential"
	"github.com/flickerlog/flicker/internal/eventfields"
	"github.com/flickerlog/flicker/internal/fielderr"
)

// SetDefaults fills unset fields with their defaults (Okta's fixed values for type okta) and normalises
// enumerations to lower case. Both polling keys are kept as given, so that Validate can refuse both.
func (c *Config) SetDefaults() {
	c.Type = strings.ToLower(strings.TrimSpace(c.Type))
	if c.Type == "" {
		c.Type = DefaultType
	}
	if c.PollingFrequencyMS == 0 && c.PollingFrequency == 0 {
		c.PollingFrequency = DefaultPollingFrequency
	}
	if c.InitialLookback == 0 {
		c.InitialLookback = DefaultInitialLookback
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxPagesPerPoll == 0 {
		c.MaxPagesPerPoll = DefaultMaxPagesPerPoll
	}
	c.Pagination = strings.ToLower(c.Pagination)
	c.SinceFormat = strings.ToLower(c.SinceFormat)
	if c.SinceFormat == "" {
		c.SinceFormat = DefaultSinceFormat
	}
	if c.Type == TypeOkta {
		// Validate refuses other values where these are set; the fixed ones are filled in.
		if c.Pagination == "" {
			c.Pagination = PaginationLinkHeader
		}
		if c.IDPath == "" {
			c.IDPath = OktaIDPath
		}
		if c.TimePath == "" {
			c.TimePath = OktaTimePath
		}
		if c.SinceParam == "" {
			c.SinceParam = OktaSinceParam
		}
		return
	}
	if c.Pagination == "" {
		c.Pagination = DefaultPagination
	}
	if c.IDPath == "" {
		c.IDPath = DefaultGenericIDPath
	}
}

// Validate checks the configuration (after SetDefaults) without any network access and returns every problem
// as fielderr errors with paths relative to the entry. Uniqueness of names across entries is the caller's.
func (c *Config) Validate() error {
	v := validator{}
	if strings.TrimSpace(c.Name) == "" {
		v.add("name", "required: the cursor is stored under it")
	}
	if c.Type != TypeOkta && c.Type != TypeGeneric {
		v.add("type", "must be okta or generic, not %q", c.Type)
	}
	v.endpoint(c.Endpoint)
	switch {
	case c.PollingFrequencyMS != 0 && c.PollingFrequency != 0:
		v.add("polling_frequency_ms", "set polling_frequency_ms or polling_frequency, not both")
	case c.PollingFrequencyMS < 0:
		v.add("polling_frequency_ms", "must be positive, not %d", c.PollingFrequencyMS)
	case c.PollingFrequency < 0:
		v.add("polling_frequency", "must be positive, not %v", c.PollingFrequency)
	}
	v.auth(c)
	v.headers(c)
	if c.InitialLookback <= 0 {
		v.add("initial_lookback", "must be positive, not %v", c.InitialLookback)
	}
	if c.Timeout <= 0 {
		v.add("timeout", "must be positive, not %v", c.Timeout)
	}
	if c.MaxPagesPerPoll < 1 {
		v.add("max_pages_per_poll", "must be at least 1, not %d", c.MaxPagesPerPoll)
	}
	if c.SinceFormat != SinceRFC3339 && c.SinceFormat != SinceUnix && c.SinceFormat != SinceUnixMS {
		v.add("since_format", "must be rfc3339, unix or unix_ms, not %q", c.SinceFormat)
	}
	for _, p := range []struct{ key, path string }{{"items_path", c.ItemsPath}, {"id_path", c.IDPath},
		{"time_path", c.TimePath}, {"cursor_path", c.CursorPath}, {"has_more_path", c.HasMorePath},
		{"next_url_path", c.NextURLPath}} {
		if p.path != "" && !validPath(p.path) {
			v.add(p.key, "%q is not a path: keys separated by single dots, such as response_metadata.next_cursor",
				p.path)
		}
	}
	if c.Type == TypeOkta {
		v.okta(c)
	} else if c.Type == TypeGeneric {
		v.generic(c)
	}
	v.errs = append(v.errs, eventfields.Validate(c.Fields, c.FieldsUnderRoot)...)
	return fielderr.Join(v.errs...)
}

type validator struct{ errs []error }

func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, fielderr.New(path, format, args...))
}

func (v *validator) endpoint(s string) {
	if s == "" {
		v.add("endpoint", "required: the URL to poll, such as https://company.okta.com/api/v1/logs")
		return
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		v.add("endpoint", "not a URL: %v", stripURL(err))
	case u.Scheme != "http" && u.Scheme != "https":
		v.add("endpoint", "must be an http or https URL, not %q", redactURL(s))
	case u.Host == "":
		v.add("endpoint", "has no host: %q", redactURL(s))
	case u.User != nil:
		v.add("endpoint", "must not hold credentials: put them under auth")
	case u.RawQuery != "" || u.ForceQuery:
		v.add("endpoint", "must not have a query: put the parameters under params")
	case u.Fragment != "":
		v.add("endpoint", "must not have a fragment")
	}
}

// stripURL drops the URL that url.Parse puts in its errors: it may hold a secret.
func stripURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

func (v *validator) auth(c *Config) {
	a := &c.Auth
	var set []string
	if a.OktaToken != "" {
		set = append(set, "okta_token")
	}
	if a.BearerToken != "" {
		set = append(set, "bearer_token")
	}
	if a.Basic != nil {
		set = append(set, "basic")
	}
	if a.OAuth2 != nil {
		set = append(set, "oauth2")
	}
	if len(set) > 1 {
		v.add("auth", "set one of okta_token, bearer_token, basic, oauth2, not %s", strings.Join(set, " and "))
	}
	if b := a.Basic; b != nil {
		user, password := credential.Field{Path: "auth.basic.user", Value: b.User},
			credential.Field{Path: "auth.basic.password", Value: b.Password}
		if b.User == "" && b.Password == "" {
			v.add("auth.basic.user", "required")
		}
		v.errs = append(v.errs, credential.Pair(user, password)...)
		v.errs = append(v.errs, credential.Check(user, password)...)
	}
	v.errs = append(v.errs, credential.Check(credential.Field{Path: "auth.okta_token", Value: a.OktaToken},
		credential.Field{Path: "auth.bearer_token", Value: a.BearerToken})...)
	if o := a.OAuth2; o != nil {
		v.errs = append(v.errs, credential.Check(credential.Field{Path: "auth.oauth2.client_id", Value: o.ClientID},
			credential.Field{Path: "auth.oauth2.client_secret", Value: o.ClientSecret})...)
		if o.TokenURL == "" {
			v.add("auth.oauth2.token_url", "required")
		} else if u, err := url.Parse(o.TokenURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") ||
			u.Host == "" {
			v.add("auth.oauth2.token_url", "must be an absolute http or https URL")
		}
		if o.ClientID == "" {
			v.add("auth.oauth2.client_id", "required")
		}
		if o.ClientSecret == "" {
			v.add("auth.oauth2.client_secret", "required")
		}
	}
	if c.Type == TypeOkta {
		switch {
		case a.Basic != nil:
			v.add("auth.basic", "Okta does not take basic authentication: use okta_token or oauth2")
		case len(set) == 0 && !hasHeader(c.Headers, "Authorization"):
			v.add("auth", "required for type okta: okta_token (an API token) or oauth2 (a service app)")
		}
	}
}

func (v *validator) headers(c *Config) {
	for _, name := range slices.Sorted(maps.Keys(c.Headers)) {
		if !httpguts.ValidHeaderFieldName(name) {
			v.add("headers."+name, "%q is not a valid header name", name)
			continue
		}
		if strings.EqualFold(name, "Authorization") && (c.Auth.OktaToken != "" || c.Auth.BearerToken != "" ||
			c.Auth.Basic != nil || c.Auth.OAuth2 != nil) {
			v.add("headers."+name, "conflicts with auth: set the credentials in one place")
		}
		if strings.EqualFold(name, "Host") || strings.EqualFold(name, "Content-Length") {
			v.add("headers."+name, "is set by the HTTP client and cannot be configured")
		}
		if strings.ContainsAny(c.Headers[name], "\r\n") {
			v.add("headers."+name, "the value must not contain a line break")
		}
	}
}

func hasHeader(h map[string]string, name string) bool {
	for k := range h {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

func (v *validator) okta(c *Config) {
	fixed := func(key, got, want string) {
		if got != want {
			v.add(key, "is %s for type okta (the System Log API), not %q: leave it out", want, got)
		}
	}
	fixed("pagination", c.Pagination, PaginationLinkHeader)
	fixed("id_path", c.IDPath, OktaIDPath)
	fixed("time_path", c.TimePath, OktaTimePath)
	fixed("since_param", c.SinceParam, OktaSinceParam)
	fixed("since_format", c.SinceFormat, SinceRFC3339)
	for _, kv := range [][2]string{{"items_path", c.ItemsPath}, {"cursor_path", c.CursorPath},
		{"cursor_param", c.CursorParam}, {"has_more_path", c.HasMorePath}, {"next_url_path", c.NextURLPath}} {
		if kv[1] != "" {
			v.add(kv[0], "does not apply to type okta: the body is the event array and pages follow the Link header")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Params)) {
		val := c.Params[name]
		switch name {
		case "since", "after":
			v.add("params."+name, "is set by flicker (from initial_lookback, then the API's next links): leave it out")
		case "until":
			v.add("params.until", "makes a bounded request, which ends instead of polling: leave it out")
		case "sortOrder":
			if val != "ASCENDING" {
				v.add("params.sortOrder", "polling needs ASCENDING (the default), not %q", val)
			}
		case "limit":
			if n, err := strconv.Atoi(val); err != nil || n < 1 || n > OktaMaxLimit {
				v.add("params.limit", "must be an integer from 1 to %d, not %q", OktaMaxLimit, val)
			}
		}
	}
	if c.InitialLookback > OktaMaxLookback {
		v.add("initial_lookback", "Okta refuses a since older than 180 days, not %v", c.InitialLookback)
	}
}

func (v *validator) generic(c *Config) {
	only := func(key, val, style string) {
		if val != "" && c.Pagination != style {
			v.add(key, "applies only to pagination: %s", style)
		}
	}
	switch c.Pagination {
	case PaginationLinkHeader:
	case PaginationBodyCursor:
		if c.CursorPath == "" {
			v.add("cursor_path", "required with pagination: body_cursor (where the next token is in the body)")
		}
		if c.CursorParam == "" {
			v.add("cursor_param", "required with pagination: body_cursor (the query parameter that takes the token)")
		}
		if c.ItemsPath == "" {
			v.add("items_path", "required with pagination: body_cursor (the body is an object holding the cursor)")
		}
	case PaginationNextURL:
		if c.NextURLPath == "" {
			v.add("next_url_path", "required with pagination: next_url (such as @odata.nextLink)")
		}
		if c.ItemsPath == "" {
			v.add("items_path", "required with pagination: next_url (the body is an object holding the next URL)")
		}
	default:
		v.add("pagination", "must be link_header, body_cursor or next_url, not %q", c.Pagination)
	}
	only("cursor_path", c.CursorPath, PaginationBodyCursor)
	only("cursor_param", c.CursorParam, PaginationBodyCursor)
	only("has_more_path", c.HasMorePath, PaginationBodyCursor)
	only("next_url_path", c.NextURLPath, PaginationNextURL)
	if c.SinceParam != "" && c.TimePath == "" {
		v.add("since_param", "needs time_path: a walk that starts over starts from the last item's time")
	}
	if c.SinceParam != "" {
		if _, ok := c.Params[c.SinceParam]; ok {
			v.add("params."+c.SinceParam, "is since_param, set by flicker from initial_lookback and the last "+
				"event time: leave it out")
		}
	}
	if c.CursorParam != "" {
		if _, ok := c.Params[c.CursorParam]; ok {
			v.add("params."+c.CursorParam, "is cursor_param, set by flicker from the API's cursor: leave it out")
		}
	}
}

// validPath reports whether p is dot-separated non-empty keys.
func validPath(p string) bool {
	for _, seg := range strings.Split(p, ".") {
		if seg == "" {
			return false
		}
	}
	return true
}

// pageLimit is the page size of an Okta source: what a full page holds.
func (c *Config) pageLimit() int {
	if n, err := strconv.Atoi(c.Params["limit"]); err == nil && n > 0 {
		return n
	}
	return OktaDefaultLimit
}
