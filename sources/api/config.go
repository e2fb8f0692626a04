package api

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/flickerlog/flicker/internal/redact"
)

// Config is one entry of api_sources.
type Config struct {
	// Name identifies the source; its cursor is stored under it, so renaming a source starts it afresh.
	Name string `yaml:"name"`
	// Type is okta (Okta System Log semantics, fixed pagination and paths) or generic (the default).
	Type     string `yaml:"type"`
	Endpoint string `yaml:"endpoint"` // absolute http(s) URL without query: parameters go under Params
	// PollingFrequencyMS and PollingFrequency are two spellings of the wait between polls that found nothing
	// new; set at most one. See Interval.
	PollingFrequencyMS int               `yaml:"polling_frequency_ms"`
	PollingFrequency   time.Duration     `yaml:"polling_frequency"`
	Auth               Auth              `yaml:"auth"`
	Headers            map[string]string `yaml:"headers"` // extra request headers
	Params             map[string]string `yaml:"params"`  // query parameters of the first request of a walk
	// InitialLookback is how far back the first start asks for events: since = now - InitialLookback.
	InitialLookback time.Duration `yaml:"initial_lookback"`
	// Timeout bounds one request, headers and body.
	Timeout time.Duration `yaml:"timeout"`
	// MaxPagesPerPoll bounds the full pages fetched back-to-back before waiting the polling interval.
	MaxPagesPerPoll int `yaml:"max_pages_per_poll"`

	// Pagination is link_header (the Link rel="next" of each response), body_cursor (a token in the body,
	// sent back in CursorParam) or next_url (a URL in the body). Okta: link_header, fixed.
	Pagination  string `yaml:"pagination"`
	CursorPath  string `yaml:"cursor_path"`   // body_cursor: where the token is in the body
	CursorParam string `yaml:"cursor_param"`  // body_cursor: the query parameter that takes it
	HasMorePath string `yaml:"has_more_path"` // body_cursor, optional: a boolean saying more is waiting now
	NextURLPath string `yaml:"next_url_path"` // next_url: where the next page's URL is in the body
	// ItemsPath is where the event array is in the body; empty: the body is the array.
	ItemsPath string `yaml:"items_path"`
	IDPath    string `yaml:"id_path"`   // each item's id (Okta: uuid); missing ids get a hash of the item
	TimePath  string `yaml:"time_path"` // each item's time, RFC 3339 or epoch (Okta: published)
	// SinceParam is the query parameter that takes the start time when a walk starts without a cursor (first
	// start, after the last page of an API whose pages end, after an endpoint or params change). Okta: since.
	// Empty: the first request has no time bound and the last page is requested again at the next poll.
	SinceParam string `yaml:"since_param"`
	// SinceFormat is how the start time is written: rfc3339 (default), unix (seconds) or unix_ms.
	SinceFormat string `yaml:"since_format"`

	// Fields are added to every event, under "fields" or, with FieldsUnderRoot, at the top level.
	Fields          map[string]string `yaml:"fields"`
	FieldsUnderRoot bool              `yaml:"fields_under_root"`
}

// Auth is how requests authenticate; at most one of its members is set. Headers can carry other schemes.
type Auth struct {
	OktaToken   string        `yaml:"okta_token"`   // Authorization: SSWS <token>
	BearerToken string        `yaml:"bearer_token"` // Authorization: Bearer <token>
	Basic       *BasicAuth    `yaml:"basic"`
	OAuth2      *OAuth2Config `yaml:"oauth2"` // client credentials grant; the access token is sent as Bearer
}

// BasicAuth is HTTP basic authentication.
type BasicAuth struct {
	User     string `yaml:"user"`
	Password string `yaml:"password"`
}

// OAuth2Config is an OAuth 2.0 client credentials grant (RFC 6749 4.4).
type OAuth2Config struct {
	TokenURL     string   `yaml:"token_url"`
	ClientID     string   `yaml:"client_id"`
	ClientSecret string   `yaml:"client_secret"`
	Scopes       []string `yaml:"scopes"`
}

// Source types.
const (
	TypeOkta    = "okta"
	TypeGeneric = "generic"
)

// Pagination styles.
const (
	PaginationLinkHeader = "link_header"
	PaginationBodyCursor = "body_cursor"
	PaginationNextURL    = "next_url"
)

// Since formats.
const (
	SinceRFC3339 = "rfc3339"
	SinceUnix    = "unix"
	SinceUnixMS  = "unix_ms"
)

// Defaults for api_sources entries. The polling default follows the collectors that poll Okta (Filebeat, the
// Okta recommendation of 60 to 300 s quoted by others); 30 s as in the field example is a fine explicit setting.
const (
	DefaultType             = TypeGeneric
	DefaultPollingFrequency = 60 * time.Second
	DefaultInitialLookback  = 24 * time.Hour
	DefaultTimeout          = 30 * time.Second
	DefaultMaxPagesPerPoll  = 50
	DefaultPagination       = PaginationLinkHeader
	DefaultGenericIDPath    = "id"
	DefaultSinceFormat      = SinceRFC3339
)

// Okta's fixed settings (System Log API: GET /api/v1/logs).
const (
	OktaIDPath       = "uuid"
	OktaTimePath     = "published"
	OktaSinceParam   = "since"
	OktaDefaultLimit = 100  // the page size when params has no limit
	OktaMaxLimit     = 1000 // the largest page Okta serves
	// OktaMaxLookback: Okta refuses a since older than 180 days (400 E0000053).
	OktaMaxLookback = 180 * 24 * time.Hour
)

// Interval is the wait between polls that found nothing new (after SetDefaults).
func (c *Config) Interval() time.Duration {
	if c.PollingFrequencyMS != 0 {
		return time.Duration(c.PollingFrequencyMS) * time.Millisecond
	}
	return c.PollingFrequency
}

// redacted stands for a secret in String.
const redacted = "REDACTED"

// String describes the source for logs and validate output with every secret replaced by REDACTED: auth
// members, header values with secret-looking names, secret-looking params, credentials in the endpoint.
func (c Config) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "name=%q type=%s endpoint=%q", c.Name, c.Type, redactURL(c.Endpoint))
	fmt.Fprintf(&b, " polling_frequency=%s auth=%s", c.Interval(), c.Auth.String())
	if len(c.Headers) > 0 {
		fmt.Fprintf(&b, " headers=%s", redactedMap(c.Headers, redact.SecretName))
	}
	if len(c.Params) > 0 {
		fmt.Fprintf(&b, " params=%s", redactedMap(c.Params, redact.SecretName))
	}
	fmt.Fprintf(&b, " pagination=%s", c.Pagination)
	for _, kv := range [][2]string{{"items_path", c.ItemsPath}, {"id_path", c.IDPath}, {"time_path", c.TimePath},
		{"cursor_path", c.CursorPath}, {"cursor_param", c.CursorParam}, {"has_more_path", c.HasMorePath},
		{"next_url_path", c.NextURLPath}, {"since_param", c.SinceParam}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, " %s=%q", kv[0], kv[1])
		}
	}
	return b.String()
}

// GoString keeps %#v from printing secrets.
func (c Config) GoString() string { return "api.Config{" + c.String() + "}" }

// String names the configured scheme without its secrets.
func (a Auth) String() string {
	switch {
	case a.OktaToken != "":
		return "okta_token(" + redacted + ")"
	case a.BearerToken != "":
		return "bearer_token(" + redacted + ")"
	case a.Basic != nil:
		return fmt.Sprintf("basic(user=%q password=%s)", a.Basic.User, redacted)
	case a.OAuth2 != nil:
		return fmt.Sprintf("oauth2(token_url=%q client_id=%q client_secret=%s scopes=%q)",
			redactURL(a.OAuth2.TokenURL), a.OAuth2.ClientID, redacted, a.OAuth2.Scopes)
	}
	return "none"
}

// GoString keeps %#v from printing secrets.
func (a Auth) GoString() string { return "api.Auth{" + a.String() + "}" }

func redactedMap(m map[string]string, secret func(string) bool) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		v := m[k]
		if secret(k) {
			v = redacted
		}
		fmt.Fprintf(&b, "%s: %q", k, v)
	}
	b.WriteByte('}')
	return b.String()
}
