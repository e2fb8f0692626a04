// Package engine is flicker's pipeline: the event, the source and sink contracts, the byte-bounded queue, the
// batcher, fan-out to outputs, per-event results, retries, dead-letter routing and ordered per-stream
// acknowledgement. It imports nothing else of flicker's: sources and sinks depend on it, never the reverse.
//
// Data flow:
//
//	Source.Run --Publish--> queue (events + bytes bound) --> batcher --> every Output's worker --> Sink.Write
//	                                                                           |
//	 Stream ack(pos) <-- highest contiguous position done by every output <----+
//
// An event is done for an output when the output accepted it, or rejected it and the rejection was recorded in
// the output's dead letter (or counted and logged when it has none). When every output is done with every event of
// a stream up to position P, the stream's ack function is called with P, in order, exactly once per advance.
// With Options.OutputPositions, an output that is ahead of P on a stream with a Key keeps its own position there
// (outpos.go), so that after a restart it is not sent what it accepted already. A stream whose positions change
// from run to run but whose event ids do not (Stream.ByID) keeps, with Options.OutputIDs, the ids each output
// accepted beyond P instead (outids.go).
//
// Caveats:
//   - A source must not modify an event's Message bytes after Publish until the event is acknowledged; after
//     the acknowledgement nothing in the engine or a sink reads them again, so a source may reuse its buffers
//     then (the file source recycles its arena chunks that way).
//   - Ack functions run under the stream's lock, from output goroutines (and from Publish when filtered events
//     complete a run): they must be quick and never block.
//   - An event marked Filtered (a processor dropped it) is acknowledged in order like any other, but no output
//     sees it: a stream whose events are all filtered still advances its checkpoint.
package engine
