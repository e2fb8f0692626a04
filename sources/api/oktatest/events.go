package oktatest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/flickerlog/flicker/sources/api/internal/emulator"
)

// publishedLayout is Okta's published format: RFC 3339 in UTC with milliseconds ("2017-09-30T22:23:07.777Z").
const publishedLayout = "2006-01-02T15:04:05.000Z07:00"

// event is one persisted LogEvent; its Item.ID is its uuid.
type event struct {
	emulator.Item
	seq       int64 // persistence order, from 1
	published time.Time
	persisted time.Time
	attrs     map[string][]string // dotted attribute -> values, for filter and q
}

// eventKind is a family of generated events.
type eventKind struct {
	eventType, legacy, message string
}

var kinds = []eventKind{
	{"user.session.start", "core.user_auth.login_success", "User login to Okta"},
	{"user.authentication.sso", "app.auth.sso", "User single sign on to app"},
	{"user.authentication.auth_via_mfa", "core.user.factor.attempt_success", "Authentication of user via MFA"},
	{"policy.evaluate_sign_on", "", "Evaluation of sign-on policy"},
	{"user.session.end", "core.user_auth.logout_success", "User logout from Okta"},
	{"user.account.update_password", "core.user.config.password_update.success", "User update password for Okta"},
	{"group.user_membership.add", "core.user_group_member.user_add", "Add user to group membership"},
	{"app.user_membership.add", "app.generic.provision.assign_user_to_app", "Add user to application membership"},
	{"system.api_token.create", "api.token.create", "Create API token"},
	{"user.mfa.factor.activate", "core.user.factor.activate", "Activate factor or authenticator"},
}

type logEvent struct {
	Actor                 actor          `json:"actor"`
	Client                client         `json:"client"`
	AuthenticationContext authContext    `json:"authenticationContext"`
	DisplayMessage        string         `json:"displayMessage"`
	EventType             string         `json:"eventType"`
	Outcome               outcome        `json:"outcome"`
	Published             string         `json:"published"`
	Severity              string         `json:"severity"`
	DebugContext          debugContext   `json:"debugContext"`
	LegacyEventType       string         `json:"legacyEventType,omitempty"`
	Transaction           transaction    `json:"transaction"`
	UUID                  string         `json:"uuid"`
	Version               string         `json:"version"`
	Target                []target       `json:"target,omitempty"`
	SecurityContext       map[string]any `json:"securityContext"`
}

type actor struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	AlternateID string `json:"alternateId"`
	DisplayName string `json:"displayName"`
}

type client struct {
	UserAgent map[string]string `json:"userAgent"`
	Zone      string            `json:"zone"`
	Device    string            `json:"device"`
	IPAddress string            `json:"ipAddress"`
}

type authContext struct {
	AuthenticationStep int    `json:"authenticationStep"`
	ExternalSessionID  string `json:"externalSessionId"`
}

type outcome struct {
	Result string `json:"result"`
	Reason string `json:"reason,omitempty"`
}

type debugContext struct {
	DebugData map[string]string `json:"debugData"`
}

type transaction struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

type target struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	AlternateID string `json:"alternateId"`
	DisplayName string `json:"displayName"`
}

// newEvent builds the n-th event (n from 1). padding bytes go into debugContext.debugData.padding.
func newEvent(n int64, published, persisted time.Time, padding int) *event {
	uuid := emulator.NewUUID()
	k := kinds[int(n)%len(kinds)]
	user := n % 97
	e := logEvent{
		Actor: actor{ID: fmt.Sprintf("00u%017d", user), Type: "User",
			AlternateID: fmt.Sprintf("user%d@example.com", user), DisplayName: fmt.Sprintf("User %d", user)},
		Client: client{
			UserAgent: map[string]string{"os": "Mac OS X", "browser": "CHROME",
				"rawUserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 Chrome/120.0"},
			Zone: "OFF_NETWORK", Device: "Computer", IPAddress: fmt.Sprintf("198.51.100.%d", n%250+1)},
		AuthenticationContext: authContext{ExternalSessionID: "102" + strconv.FormatInt(n*7919, 36)},
		DisplayMessage:        k.message,
		EventType:             k.eventType,
		Outcome:               outcome{Result: "SUCCESS"},
		Published:             published.UTC().Format(publishedLayout),
		Severity:              "INFO",
		DebugContext:          debugContext{DebugData: map[string]string{"requestUri": "/api/v1/authn"}},
		LegacyEventType:       k.legacy,
		Transaction:           transaction{Type: "WEB", ID: "Xa" + strconv.FormatInt(n*104729, 36)},
		UUID:                  uuid,
		Version:               "0",
		SecurityContext:       map[string]any{"asNumber": 64496, "asOrg": "example", "isp": "example", "isProxy": false},
	}
	if n%7 == 0 {
		e.Outcome = outcome{Result: "FAILURE", Reason: "INVALID_CREDENTIALS"}
		e.Severity = "WARN"
	}
	if k.eventType == "group.user_membership.add" || k.eventType == "app.user_membership.add" {
		e.Target = []target{{ID: fmt.Sprintf("00g%017d", n%13), Type: "UserGroup", AlternateID: "staff", DisplayName: "Staff"}}
	}
	plain, err := json.Marshal(e)
	if err != nil {
		panic(fmt.Sprintf("oktatest: marshal event: %v", err)) // static types: cannot fail
	}
	ev := &event{Item: emulator.Item{ID: uuid, JSON: plain}, seq: n, published: published, persisted: persisted,
		attrs: flatten(plain)}
	if padding <= 0 {
		return ev
	}
	e.DebugContext.DebugData["padding"] = emulator.RandomText(padding)
	if ev.JSON, err = json.Marshal(e); err != nil {
		panic(fmt.Sprintf("oktatest: marshal event: %v", err))
	}
	return ev
}

// flatten maps every scalar of a JSON object to its dotted path; arrays of objects contribute each element.
func flatten(body []byte) map[string][]string {
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		panic(fmt.Sprintf("oktatest: flatten event: %v", err))
	}
	out := make(map[string][]string)
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, sub := range x {
				if prefix != "" {
					k = prefix + "." + k
				}
				walk(k, sub)
			}
		case []any:
			for _, sub := range x {
				walk(prefix, sub)
			}
		case string:
			out[prefix] = append(out[prefix], x)
		case float64:
			out[prefix] = append(out[prefix], strconv.FormatFloat(x, 'f', -1, 64))
		case bool:
			out[prefix] = append(out[prefix], strconv.FormatBool(x))
		}
	}
	walk("", v)
	return out
}
