// Package elasticsearch is the elasticsearch output: it indexes events into Elasticsearch 7 or 8, or OpenSearch
// 2, with the _bulk API.
//
// Each event is one action, {"index":{...}} or, with op_type create (data streams), {"create":{...}}, followed by
// the event document (DESIGN.md section 5). The action's _id is the event's deterministic id, the same string
// as the document's "id", so a replayed event lands on the document it wrote before: op_type index overwrites
// it, op_type create answers 409, which counts as accepted. The index is a name or a pattern such as
// "logs-%{+yyyy.MM.dd}" (tokens yyyy, yy, MM, dd, HH, mm, ss; YYYY is read as yyyy) evaluated on the event's
// @timestamp in UTC.
//
// Results per event, from the items of the _bulk response: 2xx and 409 accepted; 429 and 5xx retried (only
// those events); 401, 403 and 404 (index_not_found_exception when indices are not created automatically)
// retried and logged as errors, since an operator fixes privileges or creates the index; any other status,
// mapping errors (400) first, rejected with the item's error type and reason, which the engine records in the
// dead letter. When the response says "errors":false, every event is accepted without reading the items.
//
// A request that fails as a whole: network errors and 5xx fail over to the next host, and when every host
// failed the events are retried; 400 halves the request, recursively, until the events refused alone are
// isolated: only those are rejected, with the reason Elasticsearch gave them, the others are indexed (bounded as
// internal/rejectsplit says: a batch spends at most 128 requests on halves, and after 128 requests in a row
// answered 400 a 400 rejects its whole request at once, until a request succeeds or a minute has passed); 413
// halves the request until one event is refused alone (rejected); 429 retries; every other status (401, 403,
// 404, 405, 408, 409, 415, redirects not followed, ...) retries and is logged at error level, rate-limited,
// with a hint: those are credentials, hosts or a proxy to fix, and rejecting would drop every event until then.
//
// Redirects: 307 and 308 are followed (up to five), keeping method and body, but only to the host's own
// scheme, host and port: elsewhere net/http would drop Authorization yet send the configured headers and the
// events. 301, 302 and 303 are not followed, since the client would turn the POST into a GET (which
// Elasticsearch answers 405).
//
// Requests go round-robin over hosts; a host that fails rests (1s, doubling up to 30s) while the others take
// its requests. A batch is sent as several requests when its NDJSON exceeds bulk_max_bytes (uncompressed).
// Bodies are gzip-compressed (level 1) unless compression is none. Authentication is an API key
// (Authorization: ApiKey) or basic; responses are trimmed with filter_path. One Sink sends one request at a time;
// cmd/flicker builds workers Sinks per output and spreads the batches over them (engine.SinkPool).
//
// Caveats:
//   - The replay guarantee holds per concrete index. With a date pattern the index comes from @timestamp, which
//     for lines without a parsed time is the read time: a line re-read after midnight UTC goes to the next
//     day's index and is stored twice. A data stream checks _id only in its current backing index: a replay
//     after a rollover is stored again. An alias resolves to its write index at the time of the request.
//   - Elasticsearch limits _id to 512 bytes: an API source's own id that is longer is rejected (to the dead
//     letter) by the sink, before sending. Elasticsearch would refuse the whole request (400
//     action_request_validation_exception), and with it every other event of the request.
//   - Elasticsearch 6 and older (mapping types) are not supported.
//   - A data stream needs op_type: create. With op_type index Elasticsearch refuses every item with 400
//     (illegal_argument_exception: only write ops with an op_type of create are allowed in data streams), and
//     the events are rejected to the dead letter.
//   - The 5 MiB default of bulk_max_bytes is far below Elasticsearch's 100 MB http.max_content_length; proxies
//     in front of the cluster often have smaller limits, which 413 handling absorbs at the cost of re-sending.
package elasticsearch
