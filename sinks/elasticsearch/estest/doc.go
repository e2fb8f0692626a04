// Package estest is an emulator of Elasticsearch's _bulk API for tests: the sink's unit tests and the end-to-end
// tests of the built binary in cmd/flicker use the same server, so both meet per-item statuses, whole-request
// errors and data streams as Elasticsearch answers them. Only tests import it.
package estest
