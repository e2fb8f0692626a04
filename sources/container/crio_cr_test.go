package container_test

import (
	"strings"
	"testing"

	"github.com/flickerlog/flicker/sources/container/containertest"
)

// conmon (CRI-O) keeps the "\r" of a "\r\n" and cuts a line where its 8 KiB read ends: a line of 8191 bytes plus
// "\r\n" is written as a P record ending in "\r" and an empty F record. The message must read as on containerd
// (which strips "\r\n"): without its final "\r".
func TestCRIOCarriageReturnEndingAPartialRecord(t *testing.T) {
	t.Parallel()
	k := newKubelet(t, containertest.KubeletConfig{Runtime: containertest.CRIO})
	c := startContainer(t, k, "shop", "web", "app")
	text := strings.Repeat("w", 8191)
	appendRaw(t, c.Path(), "2024-03-12T14:01:58.392741000+00:00 stdout P "+text+"\r\n"+
		"2024-03-12T14:01:58.392741000+00:00 stdout F \n"+
		"2024-03-12T14:01:58.392741000+00:00 stdout F short\r\n")
	sink := &recSink{}
	run(t, newKubeSource(t, k.Dir(), newRegistry(), nil), sink)
	waitFor(t, "two messages", func() bool { return len(sink.all()) == 2 })
	evs := sink.all()
	if evs[0].Message != text {
		t.Errorf("message ends in %q, want %q", evs[0].Message[len(evs[0].Message)-3:], text[len(text)-3:])
	}
	if evs[1].Message != "short" {
		t.Errorf("second message %q", evs[1].Message)
	}
}
