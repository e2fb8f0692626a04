package s3out_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
	s3out "github.com/flickerlog/flicker/sinks/s3"
)

// TestPassesSinkSuite runs the shared sink suite against a real MinIO server. Each sink writes under a prefix
// of its own; readBack decodes its objects. Objects have no order among themselves, so readBack checks the
// order of each stream within every object and returns the messages ordered by stream and offset.
func TestPassesSinkSuite(t *testing.T) {
	srv := startMinIO(t)
	client, reader := sinkClient(t, srv, srv.URL()), srv.Client(t)
	n := 0
	enginetest.RunSinkSuite(t, func(t *testing.T) (engine.Sink, func() [][]byte) {
		n++
		prefix := fmt.Sprintf("suite-%d/", n)
		// Small objects cut by size and age: the suite's pipeline drains only once every object is written.
		s := newSink(t, s3out.Config{Prefix: prefix + "%{input}/%{+yyyy/MM/dd/HH}/", MaxObjectBytes: 16 << 10,
			MaxObjectAge: 100 * time.Millisecond}, client)
		return s, func() [][]byte {
			objs := listObjects(t, reader, bucket, prefix)
			checkInObjectOrder(t, objs)
			return messagesByStream(objs)
		}
	})
}
