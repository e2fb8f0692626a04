// Package api is the polling source for audit-log APIs (api_sources): the Okta System Log with its documented
// semantics (type okta), and other APIs through a generic type whose pagination is chosen in config
// (link_header, body_cursor, next_url).
//
// One goroutine per configured source (Source.Run) requests a page, splits the JSON array into items without
// decoding them (each event's message is a slice of the response body, exactly as received; only the id and
// time values are looked at), publishes them on the source's stream, and follows the next page: back-to-back
// while pages are full (up to max_pages_per_poll), else after the polling interval. An Okta polling page always
// carries a next link, even when empty (often equal to its self link): it is stored and requested again after
// the interval, never in a loop.
//
// Checkpoints: the cursor after a page (next link or body cursor token, the latest item time, the ids of the
// most recently delivered items) goes to the Registry only when the engine acknowledges the page's last event,
// that is when every output is done with the whole page. While only the page's first events are acknowledged,
// the cursor the page was requested with goes instead, with their ids among the recent ones: a restart requests
// the page again and skips exactly those, so the saved position is the engine's at every event (per-output
// event ids, kept by the engine for events beyond it, rely on that). A page without new events advances the
// newest pending checkpoint, or is saved at once when nothing is pending. After a crash the unacknowledged pages are read again
// from the saved cursor; items whose id is among the saved recent ids are skipped, the others are delivered
// again (at most the pages published after the saved checkpoint), with the API's own id as event id so that
// idempotent outputs absorb them.
//
// A walk starts from a time (since_param = the latest item time, or now - initial_lookback on the first start)
// when there is no cursor: first start, a changed endpoint or params (a saved next link embeds the old ones;
// logged), a saved cursor the API refuses (400, 404, 410; logged). When an API's pages end (no next link, no
// body cursor), the last page is requested again at the next poll and its known items are skipped.
//
// Failures never end a running source: 429 waits for X-Rate-Limit-Reset (or Retry-After), and requests are
// spread over the window before Remaining reaches 0 (sources of one Source polling the same endpoint share the
// budget); 5xx and network errors back off exponentially with jitter; 401/403 and other 4xx are logged as
// errors naming the source and retried slowly (Options.AuthRetry); a 2xx body that is not the expected JSON is
// counted, logged with its status and start, and requested again after the interval, the cursor unchanged.
// Secrets (auth, secret-looking headers and params) never appear in logs or errors: logs show the endpoint
// without its query, and response bodies are logged truncated with configured secrets replaced. Nor are they
// saved: a Cursor keeps the params as Registry.ParamsSum, and a saved next link has each configured secret value
// replaced by a placeholder (redact.StripQuery) that the configuration's current value replaces when the link is
// requested. Values are matched, not names: a page_token cursor is kept as it is.
//
// Caveats:
//   - Only GET: APIs that page with a POST body (1Password's Events API) are not covered.
//   - Items must come oldest first: LastTime is the latest item time seen, and a walk that starts over asks
//     for items from it.
//   - Paths are dot-separated object keys; a key containing dots ("@odata.nextLink") is matched whole first.
//     Array indexes and keys with escapes in the body are not supported.
//   - Dedup covers the last MaxRecentIDs delivered items; an item whose id is missing gets a hash of its bytes
//     as id, so identical items without ids count as duplicates.
//   - For type okta, a page is "full" when it holds params.limit items (default 100): a shorter page means
//     caught up, and the next request waits the polling interval.
//   - A next link or redirect to another host is refused (the credentials would follow it).
//   - The stream's key for per-output event ids is the endpoint without its query, so that the ids of another
//     API never match after an endpoint change (cmd/flicker then drops those stored under the former one).
package api
