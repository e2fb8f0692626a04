// Package oktatest is an emulator of the Okta System Log API (GET /api/v1/logs) for tests: an httptest server on
// 127.0.0.1 built from Okta's documented behaviour (developer.okta.com System Log reference, "Request types",
// "Response", "Errors"; rate-limit best practices), not from flicker's expectations.
//
// Events are kept with a persistence sequence, a persistence time and a published time. Two request types:
//
//   - Polling (no until, sortOrder ASCENDING, the default): since (default 7 days ago) bounds the persistence
//     time, results come in persistence order, which differs from published order when events are persisted
//     late (Options.LateEvery). Every page carries a rel="self" and a rel="next" link; next carries an opaque
//     after cursor over the persistence order, so a late event is still delivered after a cursor taken before it
//     was persisted. An empty page's next equals its self: the stream is infinite.
//   - Bounded (until given, or sortOrder DESCENDING): since..until bound published (since inclusive, until
//     exclusive), results are ordered by published; the last page has no next link.
//
// Every response (errors too) carries X-Rate-Limit-Limit, -Remaining and -Reset (the end of the current fixed
// window in epoch seconds). A request over the window's budget gets 429 E0000047; requests that arrive after a
// 429 and before the reset are counted as OverBudget ("hammering"). A token other than Options.Token gets 401
// E0000011. Options.FailEvery and Server.Inject add server errors and broken bodies.
//
// Caveats (emulator choices where Okta documents nothing):
//   - filter supports eq, ne, co, sw, ew, pr, gt, ge, lt, le joined by and/or with parentheses, on any dotted
//     attribute of the event (multi-valued ones such as target.id match if any value does); string comparisons
//     are case-sensitive. published in a filter is refused (400 E0000053), like Okta.
//   - A malformed after cursor, or one from the other request type, is a 400 E0000001.
//   - limit outside 0..MaxLimit, or not an integer, is a 400 E0000001 (Okta's behaviour here is unverified).
//   - Rate windows are fixed and aligned to whole seconds, because Reset has a resolution of one second.
//   - All requests count against the budget, also refused and unauthorized ones; there is no concurrency limit.
package oktatest
