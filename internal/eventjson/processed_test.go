package eventjson_test

import (
	"strings"
	"testing"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/eventjson"
)

// TestAppendProcessedMembers covers what the processing chain hands the encoder: log.* members inside the "log"
// object (one made for them when the event has none), and Extra standing in for the stream's members and the
// configured fields once the chain merged them.
func TestAppendProcessedMembers(t *testing.T) {
	in := &engine.Input{Name: "k8s", Type: "container", FieldsJSON: []byte(`,"fields":{"env":"prod"}`)}
	withPath := engine.NewStream(in, func(int64) {})
	withPath.Path = "/var/log/containers/web.log"
	withPath.Extra = []byte(`,"container":{"id":"abc"}`)
	bare := engine.NewStream(in, func(int64) {})

	tests := []struct {
		name string
		ev   engine.Event
		want string // the event's JSON after "input"
	}{
		{name: "log members after path and offset",
			ev:   engine.Event{Stream: withPath, Offset: 7, LogExtra: []byte(`,"level":"warn"`)},
			want: `"log":{"file":{"path":"/var/log/containers/web.log"},"offset":7,"level":"warn"},"container":{"id":"abc"},"fields":{"env":"prod"}}`},
		{name: "log members after offset",
			ev:   engine.Event{Stream: bare, Offset: 7, LogExtra: []byte(`,"level":"warn"`)},
			want: `"log":{"offset":7,"level":"warn"},"fields":{"env":"prod"}}`},
		{name: "log object made for log members",
			ev:   engine.Event{Stream: bare, Offset: -1, LogExtra: []byte(`,"level":"warn","logger":"db"`)},
			want: `"log":{"level":"warn","logger":"db"},"fields":{"env":"prod"}}`},
		{name: "extra replaces stream members and fields",
			ev: engine.Event{Stream: withPath, Offset: 7, ExtraReplacesStream: true,
				Extra: []byte(`,"container":{"id":"abc","name":"web"},"fields":{"env":"prod","team":"a"}`)},
			want: `"log":{"file":{"path":"/var/log/containers/web.log"},"offset":7},"container":{"id":"abc","name":"web"},"fields":{"env":"prod","team":"a"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var enc eventjson.Encoder
			got := string(enc.Append(nil, &tt.ev))
			const input = `"input":{"name":"k8s","type":"container"},`
			i := strings.Index(got, input)
			if i < 0 {
				t.Fatalf("no input member in %s", got)
			}
			if rest := got[i+len(input):]; rest != tt.want {
				t.Errorf("got\n%s\nwant\n%s", rest, tt.want)
			}
		})
	}
}
