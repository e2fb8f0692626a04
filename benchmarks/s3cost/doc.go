// Package s3cost measures what one flicker instance asks of S3 per hour (issue 17): the built binary runs behind
// a request-counting proxy in front of a real MinIO server (internal/miniotest) as an idle API tailer, a busy node
// agent and a standby, at the binary's default settings and at the Helm chart's per-mode settings. Every duration
// is scaled down (Scale) so an hour of requests is counted in minutes: the request pattern is set by the
// durations alone, so the counts scale back exactly, give or take the edges of the window. Results and the
// command are in ../RESULTS.md ("S3 requests (issue 17)"); the README's cost table is computed from them.
package s3cost
