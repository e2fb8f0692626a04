// Package enginetest holds test doubles and conformance suites for flicker's pipeline.
//
// Doubles: MemorySink, a recording sink that can retry, reject, fail, block and hold on command; PullSource, a
// pull source over in-memory streams that remembers its acknowledged positions and resumes from them; and
// CallbackSource, a push source whose requests complete through engine.NewCallbackStream.
//
// Suites: RunSinkSuite, which every sink package runs against its sink; RunSourceSuite, which every pull source
// runs through a SourceHarness (this package runs it with PullSource). The pipeline's own behaviour (dead
// letters, backpressure, shutdown) is tested in package engine with these doubles.
package enginetest
