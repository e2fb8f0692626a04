package api_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/internal/fielderr"
	"github.com/flickerlog/flicker/sources/api"
)

func TestDefaults(t *testing.T) {
	okta := api.Config{Name: "o", Type: "OKTA", Endpoint: "https://x.okta.com/api/v1/logs",
		Auth: api.Auth{OktaToken: "t"}}
	okta.SetDefaults()
	if err := okta.Validate(); err != nil {
		t.Fatal(err)
	}
	if okta.Type != "okta" || okta.Pagination != "link_header" || okta.IDPath != "uuid" ||
		okta.TimePath != "published" || okta.SinceParam != "since" || okta.Interval() != time.Minute ||
		okta.InitialLookback != 24*time.Hour || okta.Timeout != 30*time.Second || okta.MaxPagesPerPoll != 50 {
		t.Fatalf("okta defaults: %+v", okta)
	}
	generic := api.Config{Name: "g", Endpoint: "https://api.example.com/audit", PollingFrequencyMS: 30000}
	generic.SetDefaults()
	if err := generic.Validate(); err != nil {
		t.Fatal(err)
	}
	if generic.Type != "generic" || generic.Pagination != "link_header" || generic.IDPath != "id" ||
		generic.TimePath != "" || generic.SinceParam != "" || generic.Interval() != 30*time.Second {
		t.Fatalf("generic defaults: %+v", generic)
	}
}

// Every problem comes back with the path of its field, relative to the entry.
func TestValidateMessages(t *testing.T) {
	base := func(mod func(c *api.Config)) api.Config {
		c := api.Config{Name: "okta", Type: "okta", Endpoint: "https://x.okta.com/api/v1/logs",
			Auth: api.Auth{OktaToken: "t"}}
		mod(&c)
		return c
	}
	generic := func(mod func(c *api.Config)) api.Config {
		c := api.Config{Name: "g", Endpoint: "https://api.example.com/audit"}
		mod(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  api.Config
		path string
		msg  string
	}{
		{"no name", base(func(c *api.Config) { c.Name = " " }), "name", "required"},
		{"bad type", base(func(c *api.Config) { c.Type = "splunk" }), "type", "okta or generic"},
		{"no endpoint", base(func(c *api.Config) { c.Endpoint = "" }), "endpoint", "required"},
		{"relative endpoint", base(func(c *api.Config) { c.Endpoint = "/api/v1/logs" }), "endpoint", "http or https"},
		{"endpoint query", base(func(c *api.Config) { c.Endpoint += "?limit=5" }), "endpoint", "under params"},
		{"endpoint credentials", base(func(c *api.Config) { c.Endpoint = "https://u:p@x.okta.com/" }), "endpoint",
			"credentials"},
		{"both polling keys", base(func(c *api.Config) { c.PollingFrequencyMS, c.PollingFrequency = 1000, time.Second }),
			"polling_frequency_ms", "not both"},
		{"negative polling", base(func(c *api.Config) { c.PollingFrequency = -time.Second }), "polling_frequency",
			"positive"},
		{"two auths", base(func(c *api.Config) { c.Auth.BearerToken = "b" }), "auth", "okta_token and bearer_token"},
		{"okta without auth", base(func(c *api.Config) { c.Auth = api.Auth{} }), "auth", "required for type okta"},
		{"okta basic", base(func(c *api.Config) { c.Auth = api.Auth{Basic: &api.BasicAuth{User: "u"}} }),
			"auth.basic", "Okta does not take basic"},
		{"oauth2 incomplete", base(func(c *api.Config) {
			c.Auth = api.Auth{OAuth2: &api.OAuth2Config{TokenURL: "x", ClientID: "id"}}
		}), "auth.oauth2.token_url", "absolute"},
		{"oauth2 secret", base(func(c *api.Config) {
			c.Auth = api.Auth{OAuth2: &api.OAuth2Config{TokenURL: "https://x.okta.com/oauth2/v1/token", ClientID: "id"}}
		}), "auth.oauth2.client_secret", "required"},
		{"authorization header and auth", base(func(c *api.Config) { c.Headers = map[string]string{"authorization": "x"} }),
			"headers.authorization", "conflicts with auth"},
		{"bad header name", generic(func(c *api.Config) { c.Headers = map[string]string{"X Key": "x"} }),
			"headers.X Key", "not a valid header name"},
		{"okta since param", base(func(c *api.Config) { c.Params = map[string]string{"since": "2024-01-01T00:00:00Z"} }),
			"params.since", "set by flicker"},
		{"okta until", base(func(c *api.Config) { c.Params = map[string]string{"until": "x"} }), "params.until",
			"bounded"},
		{"okta descending", base(func(c *api.Config) { c.Params = map[string]string{"sortOrder": "DESCENDING"} }),
			"params.sortOrder", "ASCENDING"},
		{"okta limit", base(func(c *api.Config) { c.Params = map[string]string{"limit": "5000"} }), "params.limit",
			"1 to 1000"},
		{"okta pagination", base(func(c *api.Config) { c.Pagination = "body_cursor" }), "pagination",
			"link_header for type okta"},
		{"okta id path", base(func(c *api.Config) { c.IDPath = "id" }), "id_path", "uuid for type okta"},
		{"okta items path", base(func(c *api.Config) { c.ItemsPath = "items" }), "items_path", "does not apply"},
		{"okta lookback", base(func(c *api.Config) { c.InitialLookback = 200 * 24 * time.Hour }), "initial_lookback",
			"180 days"},
		{"timeout", base(func(c *api.Config) { c.Timeout = -1 }), "timeout", "positive"},
		{"max pages", base(func(c *api.Config) { c.MaxPagesPerPoll = -1 }), "max_pages_per_poll", "at least 1"},
		{"bad pagination", generic(func(c *api.Config) { c.Pagination = "pages" }), "pagination", "link_header, body_cursor"},
		{"body cursor without path", generic(func(c *api.Config) {
			c.Pagination, c.CursorParam, c.ItemsPath = "body_cursor", "cursor", "items"
		}), "cursor_path", "required with pagination: body_cursor"},
		{"body cursor without param", generic(func(c *api.Config) {
			c.Pagination, c.CursorPath, c.ItemsPath = "body_cursor", "cursor", "items"
		}), "cursor_param", "required"},
		{"next url without path", generic(func(c *api.Config) { c.Pagination, c.ItemsPath = "next_url", "value" }),
			"next_url_path", "required"},
		{"next url without items", generic(func(c *api.Config) {
			c.Pagination, c.NextURLPath = "next_url", "@odata.nextLink"
		}), "items_path", "required"},
		{"cursor path on link header", generic(func(c *api.Config) { c.CursorPath = "x" }), "cursor_path",
			"applies only to pagination: body_cursor"},
		{"bad path", generic(func(c *api.Config) { c.TimePath = "a..b" }), "time_path", "not a path"},
		{"since without time", generic(func(c *api.Config) { c.SinceParam = "oldest" }), "since_param",
			"needs time_path"},
		{"since param in params", generic(func(c *api.Config) {
			c.SinceParam, c.TimePath, c.Params = "oldest", "date", map[string]string{"oldest": "1"}
		}), "params.oldest", "leave it out"},
		{"since format", generic(func(c *api.Config) { c.SinceFormat = "iso" }), "since_format", "rfc3339, unix"},
		{"reserved field under root", generic(func(c *api.Config) {
			c.Fields, c.FieldsUnderRoot = map[string]string{"api": "x"}, true
		}), "fields.api", "reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.cfg
			c.SetDefaults()
			err := c.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			var found bool
			for _, e := range unjoin(err) {
				var fe *fielderr.Error
				if errors.As(e, &fe) && fe.Path == tt.path && strings.Contains(fe.Err.Error(), tt.msg) {
					found = true
				}
			}
			if !found {
				t.Fatalf("want %s: ...%s..., got:\n%v", tt.path, tt.msg, err)
			}
		})
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Secrets never show in String, %v, %+v or %#v, nor in validation errors.
func TestConfigStringRedactsSecrets(t *testing.T) {
	secrets := []string{"okta-secret-token", "basic-password", "client-secret-value", "header-api-key", "param-key"}
	cfgs := []api.Config{
		{Name: "a", Type: "okta", Endpoint: "https://x.okta.com/api/v1/logs", Auth: api.Auth{OktaToken: secrets[0]},
			Headers: map[string]string{"X-Api-Key": secrets[3]}, Params: map[string]string{"api_key": secrets[4]}},
		{Name: "b", Endpoint: "https://user:" + secrets[1] + "@x.example.com/", Auth: api.Auth{
			Basic: &api.BasicAuth{User: "u", Password: secrets[1]}}},
		{Name: "c", Endpoint: "https://x.example.com/", Auth: api.Auth{OAuth2: &api.OAuth2Config{
			TokenURL: "https://x.example.com/token", ClientID: "id", ClientSecret: secrets[2]}}},
	}
	for _, c := range cfgs {
		c.SetDefaults()
		text := c.String() + fmt.Sprintf("%v %+v %#v %v", c, c, c, c.Auth)
		if err := c.Validate(); err != nil {
			text += err.Error()
		}
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Fatalf("secret %q shown:\n%s", s, text)
			}
		}
		if !strings.Contains(text, "REDACTED") {
			t.Fatalf("no REDACTED marker:\n%s", text)
		}
	}
}

func TestNewRefusesDuplicateNames(t *testing.T) {
	c := valid(t, api.Config{Name: "same", Endpoint: "https://x.example.com/"})
	if _, err := api.New([]api.Config{c, c}, newRegistry(), api.Options{}, zerolog.Nop()); err == nil ||
		!strings.Contains(err.Error(), "same") {
		t.Fatalf("duplicate names: %v", err)
	}
}
