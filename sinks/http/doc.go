// Package httpout is the http output: it POSTs each batch of events to a URL as newline-delimited JSON (default)
// or one JSON array, gzip-compressed by default, with configured headers and bearer or basic authentication. The
// directory is sinks/http; the package is named httpout so that it does not shadow net/http where it is used.
//
// Results per event, from the response status:
//
//   - 2xx: accepted.
//   - 413: the batch is split in halves, recursively, and each half sent; a single event answered 413 is
//     rejected with a reason giving its size. The smallest body answered 413 is remembered for a while, so later
//     batches that large are split before sending instead of being refused again.
//   - 400: the server refuses some event of the request without saying which, so the request is split in
//     halves, recursively, like for 413, until the events it refuses alone are isolated: only those are
//     rejected (to the output's dead letter) with the status and the start of the server's answer to them, the
//     others are delivered. Bounds (internal/rejectsplit): a batch spends at most 128 requests on halves, and
//     after 128 requests in a row answered 400 (an endpoint that refuses everything: a misconfiguration) a 400
//     rejects its whole request at once, without splitting, until a request is accepted or a minute has passed.
//     A range refused when a bound is reached is rejected whole, its reason saying which bound.
//   - 422: rejected with the status and the start of the response body.
//   - 429, 5xx, 408, 409, 425 and network errors, including the per-request timeout: retried by the engine.
//   - 401, 403, 404, redirects not followed (see Caveats), and every other status: retried too, and logged at
//     error level (rate-limited), since an operator has to fix a token, a URL or the format. Retrying loses
//     nothing: the output holds the pipeline back through the queue until the server takes events again.
//
// On the first retryable failure of a split batch the halves not sent yet are marked Retry without being sent.
//
// Every request carries an Idempotency-Key header: 128 bits of SHA-256 over the ids of its events (and the
// format), so a retry of the same events carries the same key, in this process or after a restart, and a server
// that deduplicates by key stores a retried request once.
//
// Retry-After (seconds or an HTTP date, capped at max_retry_after) on a retried response is honoured by the
// next Write, which waits until that time has passed (or its context ends) before sending anything. Write itself
// returns at once, so results, logs and metrics are not delayed, and the engine's own backoff runs during the
// same wait instead of being added to it: the next request goes out after max(Retry-After, backoff).
//
// One Sink sends one request at a time. For the workers setting, cmd/flicker builds the output's Sinks with
// NewWorkers and spreads its batches over them with engine.SinkPool: several requests in flight, each Sink with
// its own buffers and 413 memory, all sharing one connection pool and the server's Retry-After.
//
// Caveats:
//   - With workers above 1, batches may arrive out of order (each stream is still checkpointed in order).
//   - A 422 rejects the whole request: the server does not say which event it refused, and a key it saw
//     with another body answers 422 too (see below), so splitting would not find a bad event.
//   - Isolating k bad events among n costs about 2k*log2(n) requests; the halves carry their own
//     Idempotency-Keys. Each worker keeps its own count of 400s in a row.
//   - Cross-restart deduplication by Idempotency-Key is partial: batches after a restart may be cut differently
//     (other keys), and an event's @timestamp may be its read time, so the same key may come with another body,
//     which servers following the IETF idempotency-key draft answer with 422: those events are rejected though
//     the server already has them (a dead letter then holds duplicates, nothing is lost).
//   - Redirects: 307 and 308 are followed (up to five), keeping method and body, but only to the URL's own
//     scheme, host and port: elsewhere net/http would drop Authorization yet send the configured headers (API
//     keys) and the events. 301, 302 and 303 are not followed: the client would turn the POST into a GET. A
//     redirect not followed is retried and logged at error level, saying why (internal/httpclient).
//   - ca_file adds to the system's certificate authorities; insecure_skip_verify logs a warning at start.
//   - The URL's query values and password, the token, the password and credential-like header values never
//     appear in logs or errors (Config.String and Config.Redacted).
package httpout
