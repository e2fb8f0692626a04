// Package http is flicker's HTTP receiver (http_sources): senders POST events as NDJSON or a JSON array
// (POST /), as Elasticsearch _bulk requests (POST /_bulk, /<index>/_bulk) or to Splunk's HTTP Event Collector
// endpoints (/services/collector/event, /raw, /health), and get 200 only once every output is done with every
// event of their request. Each request is one engine callback stream (engine.NewCallbackStream): its events are
// published together, whole or not at all (engine.TryPublisher), and the handler answers when the stream's
// completion fires. The sender's own retry is the at-least-once path; nothing is kept in a registry.
//
// Answers: 200 when delivered; 400 with the reason when the body does not parse (nothing of it is shipped), or
// when an output rejected events without a dead letter (engine.Stream.Dropped; _bulk: 200 with those items'
// errors); 401 for a missing or wrong token; 413 above max_body_bytes (the body as sent or decompressed), above
// the queue's bounds, or for more events than the parsing budget; 415 for an unknown Content-Encoding; 429 with
// Retry-After when the queue had no room for the request within queueWait (engine.TryPublisher.TryPublishWait) or
// the budgets are spent; 503 with Retry-After when the outputs did not finish within ack_timeout (the events stay
// queued and are delivered), while the lease is unconfirmed (engine.ErrPaused), and at a stop. Event ids derive
// from the request's Idempotency-Key or X-Request-Id and its body when it has one (a retry repeats them), else
// from a seed new for every request (identical bodies never collapse).
//
// Events: message is the document's message, log or event member when it is a string, else the document (or
// line) as sent; the document goes under fields, or at the top with fields_under_root; @timestamp is the
// document's @timestamp (RFC 3339) or HEC's time (epoch seconds), else the time the request arrived;
// source.address and source.port are the sender's.
//
// Caveats:
//   - With fields_under_root, members named like the event's own keys (@timestamp, message, id, input, log,
//     source, dead_letter; escaped or not) are left out at the top: keep fields_under_root off to ship the
//     document whole.
//   - Bodies are read whole before anything is published. What the bodies being read take is bounded per source
//     (inflightBudget, zstd windows included), and so are their events while parsed (parsingBudget); once
//     queued, the events count against the queue's bounds.
//   - A _bulk body's delete and update actions are answered with an error in their item (status 400); the
//     request's other items are delivered.
//   - Bodies must be valid UTF-8 (JSON formats) and valid JSON by encoding/json's rules: what is copied into
//     events is shipped as it came.
package http
