// Package apitest has emulators of three pagination styles of audit-log APIs other than Okta, for tests of the
// generic API source: httptest servers on 127.0.0.1.
//
//   - StartBodyCursor: a cursor in the body, as Slack's audit logs (response_metadata.next_cursor, sent back as
//     the cursor query parameter) and 1Password's Events API (cursor and has_more). The body is
//     {"items":[...],"response_metadata":{"next_cursor":"..."},"has_more":bool}. Like 1Password, a cursor is
//     always returned, also on the last page and on empty pages, and requesting it later returns what was added
//     since; with BodyCursorOptions.EmptyCursorAtEnd the last page's next_cursor is "" as in Slack.
//   - StartNextURL: a link in the body, as Microsoft Graph (@odata.nextLink with an opaque $skiptoken). The
//     body is {"@odata.context":"...","value":[...],"@odata.nextLink":"..."}; the last page has no nextLink.
//     Every skiptoken is a position ("after item N"), so re-requesting the URL of the last page fetched
//     returns that page's items again plus any added since: a poller keeps the last URL it followed and dedups
//     by id. With NextURLOptions.DeltaLink the last page carries "@odata.deltaLink" instead, pointing past it.
//   - StartLinkHeader: a Link header, as GitHub's organization audit log (GET /orgs/ORG/audit-log with
//     order=asc and per_page): the body is a JSON array of entries with "_document_id" and "@timestamp" in
//     milliseconds; the Link header has rel="first" always and rel="next" (an opaque after cursor) only while
//     more follows, so the last page has none and its own URL is what a poller requests again. Other orders than
//     asc answer 422.
//
// All: the first request may carry the start time in the SinceParam query parameter (RFC 3339 or Unix
// seconds); items are added in time order, each with an "id" and a time field (BodyCursorTimeField,
// NextURLTimeField). A Token requires "Authorization: Bearer <Token>" (else 401). A RateLimit gives a fixed
// window budget; a request over it gets 429 with Retry-After (seconds to the window's end) and, with
// RateHeaders, X-Rate-Limit-Limit/Remaining/Reset on every response. FailEvery and Inject add failures.
//
// Every server has, besides Add, IDs, Item, Inject and Stats: Close, which stops the server, also in the
// middle of delayed responses; Endpoint, the URL of the API's list operation; SetToken, which rotates the
// valid bearer token ("" accepts every request); SetDelay, which changes the delay of the following
// responses; RequestLog, the path and query of every request so far, in arrival order.
package apitest
