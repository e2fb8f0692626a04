package syslog

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/flickerlog/flicker/engine"
)

// Arenas are the buffers the events' bytes are written into: one allocation per arena, not one per message. An
// arena is never written again where an event points into it, so it is freed once the last of its events is
// acknowledged. A stream's first arena is small and each next one twice the last, up to maxArena (or one frame's
// need, when larger): a connection that sends a message a minute holds 4 KiB, a busy one allocates once per
// 64 KiB of messages; a quiet one lets a larger arena go.
const (
	firstArena = 4 << 10
	maxArena   = 64 << 10
)

// publishBatch bounds the events built before they are published: a read of 64 KiB of two-byte lines is
// published in runs of publishBatch rather than as 32,768 events at once, and no stream keeps room for more.
const publishBatch = 1024

// arenaNeed is the arena room reserved for an event of a frame of n bytes: the message (at most the frame), the
// members (the header fields, JSON-escaped, and their keys) and the id.
func arenaNeed(n int) int { return n + n/4 + 512 }

// builder turns frames into events for one stream (a connection, or a UDP listener): it parses each frame and
// writes the event's message, members and id into its arena. Owned by one goroutine.
type builder struct {
	src    *Source
	stream *engine.Stream
	parser *Parser
	render renderer
	msg    Message
	events []engine.Event
	arena  []byte
	next   int   // the size of the next arena
	pos    int64 // the stream position of the last event
	bytes  int   // frame bytes of events, counted once published
}

func (s *Source) newBuilder(st *engine.Stream) *builder {
	return &builder{src: s, stream: st, parser: NewParser(s.cfg.Format, s.loc), next: firstArena}
}

// newStream returns a stream for one connection (or UDP listener) from peer: no positions to keep (TCP
// acknowledges nothing), ids from a seed no other stream shares.
func (s *Source) newStream(peer netip.AddrPort, withSource bool) *engine.Stream {
	st := engine.NewStream(s.input, func(int64) {})
	var seed [24]byte
	binary.BigEndian.PutUint64(seed[:], uint64(s.now().UnixNano()))
	binary.BigEndian.PutUint64(seed[8:], s.conns.Add(1))
	port := peer.Port()
	binary.BigEndian.PutUint16(seed[16:], port)
	addr, _ := peer.Addr().MarshalBinary()
	st.IDSeed = engine.SeedID([]byte(s.cfg.Name), seed[:], addr)
	if withSource {
		st.Extra = appendSource(nil, peer)
	}
	return st
}

// add makes an event of frame, received at now from peer (rendered into the event when the stream does not
// carry it). cut says the frame was cut at max_message_bytes.
func (b *builder) add(frame []byte, now time.Time, peer netip.AddrPort, withPeer, cut bool) {
	frame = trimEnd(frame)
	if len(frame) == 0 {
		return
	}
	if need := arenaNeed(len(frame)); cap(b.arena)-len(b.arena) < need {
		// Appending past the room is still right (the events keep the old array), only a copy more.
		b.arena = make([]byte, 0, max(b.next, need))
		b.next = min(2*b.next, maxArena)
	}
	ev := engine.Event{Time: now, Stream: b.stream, Offset: -1}
	err := b.parser.Parse(frame, now, &b.msg)
	start := len(b.arena)
	if err == nil {
		b.arena = append(b.arena, b.msg.Msg...)
		if !b.msg.Time.IsZero() {
			ev.Time = b.msg.Time
		}
	} else {
		b.src.stats.malformed.Add(1)
		if b.src.warnMalformed.allow(now) {
			b.src.log.Warn().Err(err).Str("peer", peer.String()).
				Msg("malformed frame shipped as it is with error.message (logged once a minute per input)")
		}
		b.arena = append(b.arena, frame...)
	}
	ev.Message = b.arena[start:len(b.arena):len(b.arena)]
	b.render.invalid += invalidUTF8(ev.Message)
	start = len(b.arena)
	if withPeer {
		b.arena = appendSource(b.arena, peer)
	}
	if err == nil {
		b.arena = b.render.appendMessage(b.arena, &b.msg)
	} else {
		b.arena = appendError(b.arena, err)
	}
	if cut {
		b.src.stats.truncated.Add(1)
		b.arena = append(b.arena, truncatedFlag...)
	}
	ev.Extra = b.arena[start:len(b.arena):len(b.arena)]
	b.pos++
	start = len(b.arena)
	b.arena = (&engine.Event{Stream: b.stream, Offset: b.pos}).AppendID(b.arena)
	ev.ID = b.arena[start:len(b.arena):len(b.arena)]
	ev.Pos = b.pos
	b.events = append(b.events, ev)
	b.bytes += len(frame)
	if b.render.invalid > 0 {
		b.src.stats.invalid.Add(uint64(b.render.invalid))
		b.render.invalid = 0
	}
}

// publish hands the events built so far to the pipeline, blocking while its queue is full. When it fails (ctx
// ended: the grace after a stop is spent, or the pipeline stopped) the events are counted as dropped at shutdown.
func (b *builder) publish(ctx context.Context, pub engine.Publisher) error {
	if len(b.events) == 0 {
		return nil
	}
	err := pub.Publish(ctx, b.events)
	if err == nil {
		b.src.stats.events.Add(uint64(len(b.events)))
		b.src.stats.bytes.Add(uint64(b.bytes))
	} else {
		b.src.stats.droppedShutdown.Add(uint64(len(b.events)))
	}
	clear(b.events)
	b.events, b.bytes = b.events[:0], 0
	if cap(b.events) > publishBatch {
		b.events = nil
	}
	return err
}

// idle lets go of the room a quiet stream does not need: events beyond a few, an arena beyond the first size,
// and the last message parsed (its fields alias the frame, in a read buffer that may have been replaced).
func (b *builder) idle() {
	b.msg = Message{}
	if len(b.events) == 0 && cap(b.events) > idleEvents {
		b.events = nil
	}
	if cap(b.arena) > firstArena {
		b.arena, b.next = nil, firstArena
	}
}

// idleEvents is the room for events a quiet stream keeps.
const idleEvents = 16

// trimEnd drops the line end and the NULs some senders end a frame with.
func trimEnd(b []byte) []byte {
	return bytes.TrimRight(b, "\r\n\x00")
}
