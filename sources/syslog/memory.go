package syslog

import (
	"unsafe"

	"github.com/flickerlog/flicker/engine"
)

// MemoryBeyondQueue is what the entries may hold in memory besides the bytes the queue counts: per TCP/TLS
// connection (max_connections of them) its read buffer, the arena being filled and the events of one
// publishBatch not queued yet; per UDP listener the datagrams it collects while the queue is full and its read
// buffer. cmd/flicker adds it to the memory limit. Zero without entries.
func MemoryBeyondQueue(cfgs []Config) int64 {
	const eventSize = int64(unsafe.Sizeof(engine.Event{}))
	var n int64
	for _, c := range cfgs {
		if c.Protocol == ProtocolUDP {
			n += int64(arenaNeed(maxPendingBytes)) + maxPendingDatagrams*eventSize + maxDatagram
			continue
		}
		conn := int64(max(maxFrameBuffer(c.MaxMessageBytes), busyBuffer)) +
			int64(max(maxArena, arenaNeed(c.MaxMessageBytes))) + publishBatch*eventSize
		n += int64(c.MaxConnections) * conn
	}
	return n
}
