package apitest

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sources/api/internal/emulator"
)

// Names of the next-URL API.
const (
	NextURLPath      = "/v1.0/auditLogs/directoryAudits"
	NextURLLinkField = "@odata.nextLink"
	NextURLTimeField = "activityDateTime" // RFC 3339 with 7 fractional digits, as Graph writes it
	NextURLLimit     = "$top"
	skipTokenParam   = "$skiptoken"
	deltaTokenParam  = "$deltatoken"
)

// NextURLOptions configure a next-URL API. The zero value is an open API with 100 items per page.
type NextURLOptions struct {
	Token       string        // required as "Authorization: Bearer <Token>"; "" accepts every request
	RateLimit   int           // requests per window; 0 unlimited
	RateWindow  time.Duration // default 60s, rounded up to whole seconds
	RateHeaders bool          // X-Rate-Limit-Limit/Remaining/Reset on every response (Retry-After on 429 always)
	FailEvery   int           // every Nth request within budget and authorized answers 500; 0 never
	Delay       time.Duration // every response is delayed this long
	ItemPadding int           // bytes of padding in every item (additionalDetails); 0 none
	PageSize    int           // the default $top; default 100
	MaxPageSize int           // the largest $top; default 1000; over it: 400
	SinceParam  string        // the query parameter of the first request's start time; default "since"
	DeltaLink   bool          // the last page carries "@odata.deltaLink" pointing past it
	Now         func() time.Time
}

// NextURLServer is a running next-URL API. Besides the methods listed, it has Close, Endpoint,
// SetToken, SetDelay and RequestLog (see the package documentation).
type NextURLServer struct {
	*server
	URL string
}

// StartNextURL runs a next-URL API on 127.0.0.1; it is closed in t.Cleanup.
func StartNextURL(t testing.TB, opts NextURLOptions) *NextURLServer {
	t.Helper()
	s := start(t, NextURLPath, "Directory_", &nextURL{delta: opts.DeltaLink}, settings{
		token: opts.Token, rateLimit: opts.RateLimit, rateWindow: opts.RateWindow, rateHeaders: opts.RateHeaders,
		failEvery: opts.FailEvery, delay: opts.Delay, itemPadding: opts.ItemPadding, pageSize: opts.PageSize,
		maxPageSize: opts.MaxPageSize, sinceParam: opts.SinceParam, now: opts.Now,
	})
	return &NextURLServer{server: s, URL: s.core.URL()}
}

type nextURL struct{ delta bool }

func (n *nextURL) page(s *server, r *http.Request, items []*item) (emulator.Page, *emulator.Error) {
	q := r.URL.Query()
	tok, param := q.Get(skipTokenParam), skipTokenParam
	if tok == "" {
		tok, param = q.Get(deltaTokenParam), deltaTokenParam
	}
	page, end, more, err := s.pageAt(r, items, NextURLLimit, "s1", tok,
		apiError(http.StatusBadRequest, "Request_BadRequest", "Invalid "+param))
	if err != nil {
		return emulator.Page{}, err
	}
	next := q
	next.Del(s.set.sinceParam)
	next.Del(skipTokenParam)
	next.Del(deltaTokenParam)
	token := encodeToken("s1", end)

	buf := fmt.Appendf(nil, `{"@odata.context":%q,"value":`, s.core.URL()+"/v1.0/$metadata#auditLogs/directoryAudits")
	buf = emulator.AppendArray(buf, page)
	switch {
	case more:
		next.Set(skipTokenParam, token)
		buf = fmt.Appendf(buf, `,%q:%q`, NextURLLinkField, s.Endpoint()+"?"+next.Encode())
	case n.delta:
		next.Set(deltaTokenParam, token)
		buf = fmt.Appendf(buf, `,"@odata.deltaLink":%q`, s.Endpoint()+"?"+next.Encode())
	}
	return emulator.Page{Body: append(buf, '}'), Items: len(page)}, nil
}

var activities = []string{"Add user", "Update user", "Add member to group", "Reset password", "Consent to application"}

func (n *nextURL) item(seq int, id string, t time.Time, padding string) []byte {
	type user struct {
		ID                string `json:"id"`
		UserPrincipalName string `json:"userPrincipalName"`
		IPAddress         string `json:"ipAddress"`
	}
	v := struct {
		ID                  string              `json:"id"`
		Category            string              `json:"category"`
		CorrelationID       string              `json:"correlationId"`
		Result              string              `json:"result"`
		ActivityDisplayName string              `json:"activityDisplayName"`
		ActivityDateTime    string              `json:"activityDateTime"`
		LoggedByService     string              `json:"loggedByService"`
		InitiatedBy         map[string]user     `json:"initiatedBy"`
		AdditionalDetails   []map[string]string `json:"additionalDetails"`
	}{
		ID: id, Category: "UserManagement", CorrelationID: emulator.NewUUID(), Result: "success",
		ActivityDisplayName: activities[seq%len(activities)],
		ActivityDateTime:    t.UTC().Format("2006-01-02T15:04:05.0000000Z"),
		LoggedByService:     "Core Directory",
		InitiatedBy: map[string]user{"user": {ID: fmt.Sprintf("%08d-0000-4000-8000-000000000000", seq%41),
			UserPrincipalName: fmt.Sprintf("admin%d@contoso.example", seq%41), IPAddress: "192.0.2.10"}},
		AdditionalDetails: []map[string]string{},
	}
	if padding != "" {
		v.AdditionalDetails = append(v.AdditionalDetails, map[string]string{"key": "padding", "value": padding})
	}
	return mustMarshal(v)
}

func (n *nextURL) errorBody(err *emulator.Error) []byte {
	code := map[int]string{401: "InvalidAuthenticationToken", 429: "TooManyRequests", 500: "UnknownError"}[err.Status]
	if code == "" {
		code = err.Code
	}
	return mustMarshal(map[string]any{"error": map[string]any{"code": code, "message": err.Message,
		"innerError": map[string]string{"request-id": emulator.NewUUID()}}})
}
