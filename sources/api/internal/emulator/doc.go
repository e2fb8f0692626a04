// Package emulator is the scaffolding the test emulators of audit-log APIs share (sources/api/oktatest and
// sources/api/apitest): an httptest server on 127.0.0.1 that keeps items in the order they were added and
// answers one list endpoint. What an API decides for itself, its pages, its error bodies and how its
// Authorization header carries the token, comes in an API; everything else is here:
//
//   - a fixed-window rate limit aligned to whole seconds (so that a Reset in epoch seconds is exact), with
//     X-Rate-Limit-Limit/Remaining/Reset on every response (Config.RateHeaders) and Retry-After on a 429
//     (Config.RetryAfter); every request counts against the budget, refused ones too;
//   - the token check, after the rate limit;
//   - failures: every Config.FailEvery-th request, or the next ones after Server.Inject, within budget and
//     authorized, answer a Fault;
//   - a delay before every response (Config.Delay, Server.SetDelay) that ends early when the client goes
//     away or the server closes;
//   - the request log and the Stats counters;
//   - helpers for item bodies: AppendArray, NewUUID, RandomText; and Clock, a settable time source for tests.
//
// Answers are decided under the server's lock, in this order: rate limit, token, fault, method (GET only),
// then API.Page; they are written after the delay, outside the lock.
package emulator
