package api_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/sources/api"
	"github.com/flickerlog/flicker/sources/api/oktatest"
	"github.com/flickerlog/flicker/store"
)

// storeRegistry is cmd/flicker's adapter in small: the real registry, so that the params go through its keyed
// hash.
type storeRegistry struct{ db *store.DB }

func (r storeRegistry) Load(input string) (api.Cursor, bool, error) {
	rec, ok, err := r.db.Cursor(input)
	return api.Cursor{Next: rec.Cursor, LastTime: rec.LastTime, RecentIDs: rec.RecentIDs, Endpoint: rec.Endpoint,
		ParamsSum: rec.ParamsSum}, ok, err
}

func (r storeRegistry) Save(input string, c api.Cursor) {
	r.db.PutCursor(store.CursorRecord{Input: input, Cursor: c.Next, LastTime: c.LastTime, RecentIDs: c.RecentIDs,
		Endpoint: c.Endpoint, ParamsSum: c.ParamsSum})
}

func (r storeRegistry) ParamsSum(params map[string]string) string { return r.db.ParamsSum(params) }

func (r storeRegistry) flush(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.db.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestSecretParamsStrippedAndRefilled: the saved next link holds placeholders instead of the secret params the
// API echoes in it (and keeps its after cursor); a restart resumes from that link with the configured values
// put back (the emulator receives them), and a changed secret value is a params change: the walk starts again
// from the last event time with the new value.
func TestSecretParamsStrippedAndRefilled(t *testing.T) {
	const private, client = "PRIVTOKEN123", "CLIENTSECRET456"
	org := oktatest.Start(t, oktatest.Options{Token: token})
	first := org.Add(250)
	cfg := oktaConfig(t, org.Endpoint(), token)
	cfg.Params = map[string]string{"limit": "100", "private_token": private, "client_secret": client}
	db, err := store.Open(t.TempDir()+"/reg.db", store.Options{CommitInterval: 10 * time.Millisecond}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	reg := storeRegistry{db}
	opts := fastOptions()
	opts.Once = true
	sink := &recordSink{}
	if err := runOnce(t, newSource(t, reg, opts, zerolog.Nop(), cfg), sink); err != nil {
		t.Fatal(err)
	}
	checkOnce(t, first, sink.ids())
	reg.flush(t)
	saved, ok, err := db.Cursor(cfg.Name)
	if err != nil || !ok {
		t.Fatalf("no saved cursor: %v", err)
	}
	if strings.Contains(saved.Cursor, private) || strings.Contains(saved.Cursor, client) ||
		!strings.Contains(saved.Cursor, "private_token={flicker-secret:params.private_token}") ||
		!strings.Contains(saved.Cursor, "client_secret={flicker-secret:params.client_secret}") ||
		!strings.Contains(saved.Cursor, "after=") {
		t.Fatalf("saved next link %q: want placeholders for the secrets and the after cursor", saved.Cursor)
	}

	// Restart: the first request is the saved link with the secrets put back.
	later := org.Add(30)
	before := len(org.RequestLog())
	log, logs := logger()
	again := &recordSink{}
	if err := runOnce(t, newSource(t, reg, opts, log, cfg), again); err != nil {
		t.Fatal(err)
	}
	checkOnce(t, later, again.ids())
	if out := logs.String(); strings.Contains(out, "configuration changed") ||
		!strings.Contains(out, "resumes from its saved cursor") {
		t.Fatalf("the restart did not resume from the saved cursor:\n%s", out)
	}
	q := query(t, org.RequestLog()[before])
	if q.Get("private_token") != private || q.Get("client_secret") != client || q.Get("after") == "" ||
		q.Get("since") != "" {
		t.Fatalf("first request after the restart %q: want the saved after cursor and the configured secrets",
			org.RequestLog()[before])
	}

	// A changed secret value is noticed through the hash: the walk starts again with the new value.
	reg.flush(t)
	cfg.Params = map[string]string{"limit": "100", "private_token": private, "client_secret": "ROTATED789"}
	before = len(org.RequestLog())
	log, logs = logger()
	if err := runOnce(t, newSource(t, reg, opts, log, cfg), &recordSink{}); err != nil {
		t.Fatal(err)
	}
	if out := logs.String(); !strings.Contains(out, `"params_changed":true`) {
		t.Fatalf("the changed client_secret is not noticed:\n%s", out)
	}
	q = query(t, org.RequestLog()[before])
	if q.Get("client_secret") != "ROTATED789" || q.Get("since") == "" || q.Get("after") != "" {
		t.Fatalf("first request after the change %q: want since and the new value", org.RequestLog()[before])
	}
}

func query(t *testing.T, pathAndQuery string) url.Values {
	t.Helper()
	u, err := url.Parse(pathAndQuery)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}
