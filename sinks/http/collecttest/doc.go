// Package collecttest is an HTTP collector for tests of the http output: the end-to-end tests of the built
// binary in cmd/flicker and the chaos harness (benchmarks/chaos) run flicker against the same server. It accepts
// every body the output sends (NDJSON or one JSON array, gzip or not), counts the "message" of every event it
// accepts, and answers with a fault mode that can be switched at any time from another goroutine: healthy,
// failing with a status, 429 with Retry-After, stalling, or failing a seeded fraction of requests. Only tests
// import it.
//
// Caveats: a request is answered by the mode in force when it is decided, after its body was read; a request
// stalled when the mode changes is decided again under the new mode. Counts are per delivery: an event accepted
// twice (a retry of a request whose answer was lost) counts twice.
package collecttest
