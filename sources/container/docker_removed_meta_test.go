package container_test

import (
	"strings"
	"testing"
	"time"

	"github.com/flickerlog/flicker/sources/container/containertest"
)

// A container dies mid-message and is removed (docker run --rm, docker rm): the message joined so far is shipped
// when its log is released, but by then config.v2.json is gone and the metadata was "refreshed" to the bare id:
// the container's last message loses its name, image and labels.
func TestRemovedContainerKeepsMetadata(t *testing.T) {
	t.Parallel()
	d := newDockerd(t, 0, 1)
	c := create(t, d, "web-1", map[string]string{"app": "shop"})
	when := time.Date(2024, 5, 1, 10, 0, 1, 0, time.UTC)
	appendRecords(t, c, containertest.Records("stdout", "first", when)...)
	long := containertest.Records("stdout", strings.Repeat("x", 20<<10), when)
	appendRecords(t, c, long[0]) // the container died after this record
	sink := &recSink{}
	run(t, newDockerSource(t, d.Root, newRegistry(), nil), sink)
	waitFor(t, "the first message", func() bool { return len(sink.all()) == 1 })
	time.Sleep(100 * time.Millisecond) // the partial record is read and pending
	if err := c.Remove(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the cut message", func() bool { return len(sink.all()) == 2 })
	for _, e := range sink.all() {
		if !strings.Contains(e.Extra, `"name":"web-1"`) || !strings.Contains(e.Extra, `"labels":{"app":"shop"}`) {
			t.Errorf("message of %d bytes shipped with %s", len(e.Message), e.Extra)
		}
	}
}
