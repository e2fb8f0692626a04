package main_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// format: docker ships what encoding/json reads in each record, whichever way the decoder takes through it:
// dockerd's layout with the final \n only (decoded in place) or with other escapes and attrs, and layouts dockerd
// never writes (escaped keys and values, keys in another order, spaces).
func TestE2EDockerDecodesAsEncodingJSON(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logPath, out := filepath.Join(dir, "app-json.log"), filepath.Join(dir, "out.jsonl")
	lines := `{"log":"plain\n","stream":"stdout","time":"2024-05-01T10:00:01.5Z"}
{"log":"say \"hi\"\u0009\u003cb\u003e \u0026 caf\u00e9 C:\\dir\u2028\n","stream":"stderr","attrs":{"tag":"web"},"time":"2024-05-01T10:00:02Z"}
{"l\u006fg":"escaped key\n","stream":"std\u006fut","time":"2024-05-01T10:00:03\u005a"}
{ "time": "2024-05-01T12:00:04+02:00", "stream": "stderr", "log": "reordered\n" }
`
	if err := os.WriteFile(logPath, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, dir, filepath.Join(dir, "*.log"), out, "    format: docker")
	p := start(t, dir, "-c", cfg, "--log-format", "json")
	waitFor(t, 20*time.Second, "four events", func() bool { return len(readEvents[dockerShipped](t, out)) == 4 }, p)
	p.stop()
	want := []struct{ message, stream, timestamp string }{
		{"plain", "stdout", "2024-05-01T10:00:01.500000000Z"},
		{"say \"hi\"\t<b> & café C:\\dir\u2028", "stderr", "2024-05-01T10:00:02.000000000Z"},
		{"escaped key", "stdout", "2024-05-01T10:00:03.000000000Z"},
		{"reordered", "stderr", "2024-05-01T10:00:04.000000000Z"},
	}
	got := map[string]dockerShipped{} // by message: the two streams' events need not keep the file's order
	for _, ev := range readEvents[dockerShipped](t, out) {
		got[ev.Message] = ev
	}
	for _, w := range want {
		if ev, ok := got[w.message]; !ok || ev.Stream != w.stream || ev.Timestamp != w.timestamp || ev.Error != nil {
			t.Errorf("message %q: %+v (shipped: %v), want stream %s, @timestamp %s", w.message, ev, ok, w.stream, w.timestamp)
		}
	}
}
