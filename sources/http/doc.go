// Package http is flicker's HTTP receiver (http_sources): senders POST events as NDJSON or a JSON array
// (POST /), as Elasticsearch _bulk requests (POST /_bulk, /<index>/_bulk) or to Splunk's HTTP Event Collector
// endpoints (/services/collector/event, /raw, /health), and get 200 only once every output is done with every
// event of their request. Each request is one engine callback stream (engine.NewCallbackStream): its events are
// published together, whole or not at all (engine.TryPublisher), and the handler answers when the stream's
// completion fires. The sender's own retry is the at-least-once path; nothing is kept in a registry.
//
// Answers: 200 when delivered; 400 with the reason when the body does not parse (nothing of it is shipped);
// 401 for a missing or wrong token; 413 above max_body_bytes (the body as sent or decompressed); 415 for an
// unknown Content-Encoding; 429 with Retry-After when the queue is full; 503 with Retry-After when the outputs
// did not finish within ack_timeout (the events stay queued and are delivered: a retry sends them again, so
// the ids, derived from the input name and the body, repeat and the Elasticsearch output overwrites).
//
// Events: message is the document's message, log or event member when it is a string, else the document (or
// line) as sent; the document goes under fields, or at the top with fields_under_root; @timestamp is the
// document's @timestamp (RFC 3339) or HEC's time (epoch seconds), else the time the request arrived;
// source.address and source.port are the sender's.
//
// Caveats:
//   - With fields_under_root, members named like the event's own keys (@timestamp, message, id, input, log,
//     source) are left out at the top: keep fields_under_root off to ship the document whole.
//   - Bodies are read whole before anything is published. What the bodies being read take is bounded per source
//     (4 × max_body_bytes; a request beyond it gets 429 before its body is read whole); once queued, the events
//     count against the queue's bounds.
//   - A _bulk body's delete and update actions are answered with an error in their item (status 400); the
//     request's other items are delivered.
//   - Bodies must be valid UTF-8 (JSON formats) and valid JSON by encoding/json's rules: what is copied into
//     events is shipped as it came.
package http
