package container_test

import (
	"bufio"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/sources/container"
	"github.com/flickerlog/flicker/sources/container/containertest"
	"github.com/flickerlog/flicker/sources/file"
)

// escapedMessage is a message whose json-file record holds escapes: quotes, backslashes, a tab, HTML characters
// encoding/json writes as \u escapes and, unless ascii, a line separator and non-ASCII text. A message split into
// partial records must be ASCII: dockerd cuts it at a byte count, and a character cut in two is no longer UTF-8.
func escapedMessage(rng *rand.Rand, n int, ascii bool) string {
	parts := []string{`say "hi"`, `C:\dir\`, "\t", "<b>&", "plain text ", `\"`, `"`, "\u2028", "é", "😀"}
	if ascii {
		parts = parts[:7]
	}
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(parts[rng.Intn(len(parts))])
	}
	return b.String()
}

// Messages whose records hold escapes, whole ones unescaped straight into the source's output arena and long ones
// joined from partial records while whole messages of the other stream come between them, reach the output
// intact and in order, over several arena chunks that are recycled as the pipeline acknowledges them.
func TestDockerEscapedMessagesIntact(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "app.log"))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	rng := rand.New(rand.NewSource(1))
	when := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	want := map[string][]string{}
	size := 0
	for i := 0; size < 4<<20; i++ {
		long := escapedMessage(rng, 20<<10+rng.Intn(30<<10), true)
		short := escapedMessage(rng, 1+rng.Intn(300), false)
		a, b := "stdout", "stderr"
		if i%2 == 1 {
			a, b = b, a
		}
		recs := containertest.Records(a, short, when)
		if i%10 == 9 {
			// A long message of stream a with a whole one of stream b between its records.
			la := containertest.Records(a, long, when)
			recs = append(append(append([][]byte{}, la[0]), containertest.Records(b, short, when)...), la[1:]...)
			want[b] = append(want[b], short)
			want[a] = append(want[a], long)
		} else {
			want[a] = append(want[a], short)
		}
		for _, r := range recs {
			n, _ := w.Write(r)
			size += n
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	cfg := file.Config{Name: "escaped", Paths: []string{filepath.Join(dir, "*.log")}, Format: file.FormatDocker}
	cfg.SetDefaults()
	src, err := file.New(cfg, newRegistry(), file.Options{Formats: container.Formats()}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	sink := &recSink{}
	stop := run(t, src, sink)
	total := len(want["stdout"]) + len(want["stderr"])
	waitFor(t, "every message", func() bool { return len(sink.all()) >= total })
	stop()
	for _, stream := range []string{"stdout", "stderr"} {
		var got []string
		for _, e := range sink.with(`"stream":"` + stream + `"`) {
			got = append(got, e.Message)
		}
		if len(got) != len(want[stream]) {
			t.Fatalf("%s: %d messages, want %d", stream, len(got), len(want[stream]))
		}
		for i := range got {
			if got[i] != want[stream][i] {
				t.Fatalf("%s message %d: %q, want %q", stream, i, clipString(got[i]), clipString(want[stream][i]))
			}
		}
	}
	if st := src.Stats(); st.Malformed != 0 {
		t.Errorf("%d lines malformed", st.Malformed)
	}
}

func clipString(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// Decoding a record whose "log" holds escapes into the room the file source gives allocates nothing, and the
// content lies in that room.
func TestDockerDecodeIntoRoomAllocations(t *testing.T) {
	line := containertest.Records("stdout", `GET "/index.html" <b> & C:\dir`, time.Now())[0]
	line = line[:len(line)-1]
	room := make([]byte, 0, 4096)
	p := file.Piece{Room: func(n int) []byte {
		if n > cap(room) {
			t.Fatalf("room for %d bytes asked, more than the line's %d", n, len(line))
		}
		return room
	}}
	docker := container.Formats()[0]
	allocs := testing.AllocsPerRun(100, func() {
		if err := docker.Decode(line, &p); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per record", allocs)
	}
	if string(p.Content) != `GET "/index.html" <b> & C:\dir` || p.Partial || &p.Content[0] != &room[:1][0] {
		t.Errorf("content %q (partial %v), want it unescaped in the room", p.Content, p.Partial)
	}
}

// FuzzCRIFormat: the file source's CRI format, which reads times through a cache of the last one's second and
// the usual stream and tag at one look, decodes any line after any other as ParseCRI decodes it alone (less the
// "\r" that ends a message).
func FuzzCRIFormat(f *testing.F) {
	for i, s := range criSeeds {
		f.Add([]byte(criSeeds[(i+1)%len(criSeeds)]), []byte(s))
	}
	f.Fuzz(func(t *testing.T, first, line []byte) {
		cri := container.Formats()[1]
		var p file.Piece
		_ = cri.Decode(first, &p)
		err := cri.Decode(line, &p)
		rec, wantErr := container.ParseCRI(line)
		if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
			t.Fatalf("%q after %q: error %v, ParseCRI %v", line, first, err, wantErr)
		}
		if err != nil {
			return
		}
		want := rec.Content
		if n := len(want); !rec.Partial && n > 0 && want[n-1] == '\r' {
			want = want[:n-1]
		}
		if !p.Time.Equal(rec.Time) || p.Time.Location() != rec.Time.Location() || p.Stream != rec.Stream.String() ||
			p.Partial != rec.Partial || string(p.Content) != string(want) {
			t.Fatalf("%q after %q: %v %s %v %q, ParseCRI %v %s %v %q", line, first, p.Time, p.Stream, p.Partial,
				p.Content, rec.Time, rec.Stream, rec.Partial, want)
		}
	})
}

// The CRI format reads a line with the usual stream and tag, its time in the second of the line before, without
// allocating; its content is the line's tail.
func TestCRIFormatAllocations(t *testing.T) {
	lines := [][]byte{
		[]byte("2026-11-21T10:00:00.000001Z stdout F GET /index.html 200"),
		[]byte("2026-11-21T10:00:00.000002Z stderr P the first part"),
		[]byte("2026-11-21T10:00:00.000003123+01:00 stdout F:x other tag fields"),
	}
	cri := container.Formats()[1]
	var p file.Piece
	for _, line := range lines {
		allocs := testing.AllocsPerRun(100, func() {
			if err := cri.Decode(line, &p); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%q: %v allocations per line", line, allocs)
		}
	}
	if string(p.Content) != "other tag fields" || p.Stream != "stdout" || p.Partial {
		t.Errorf("content %q, stream %q, partial %v", p.Content, p.Stream, p.Partial)
	}
}
