package syslog_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/flickerlog/flicker/sources/syslog"
)

// seeds are real-world frames of both formats, and broken ones.
var seeds = []string{
	`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"] hi`,
	`<14>1 - - - - - [a@1 q="say \"hi\"" b="back\\slash" c="close\]"][a@1 q="again"][empty@1] text`,
	"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xEF\xBB\xBF'su root' failed",
	"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
	"<189>105: 000104: Mar 12 07:12:10: %SYS-5-CONFIG_I: Configured from console by console",
	"<189>269614: hostname1: Apr 11 10:02:08: %LINEPROTO-5-UPDOWN: Line protocol",
	"<187>52: *Mar  1 2026 18:46:11.123 UTC: %LINK-3-UPDOWN: Interface",
	"<30>2026-12-07T10:59:59.123456+01:00 web-1 sshd[812]: Accepted",
	"Dec  7 11:00:00 host app: x", "<13>app[42]: message", "<999>x", "<1", "", "<0>1 - - - - - -",
}

// checkParsed checks what holds for any frame a parser accepted: every field lies within the frame, and the
// rendered members make valid JSON.
func checkParsed(t *testing.T, frame []byte, m *syslog.Message) {
	t.Helper()
	for _, f := range [][]byte{m.Hostname, m.AppName, m.ProcID, m.MsgID, m.Sequence, m.Msg} {
		if f != nil && !bytes.Contains(frame, f) {
			t.Fatalf("field %q is not part of the frame %q", f, frame)
		}
	}
	if m.Priority < -1 || m.Priority > 191 {
		t.Fatalf("priority %d", m.Priority)
	}
	members := syslog.AppendMembers([]byte(`{"x":1`), m)
	members = append(members, '}')
	if !json.Valid(members) {
		t.Fatalf("members of %q are not valid JSON: %s", frame, members)
	}
	var doc map[string]any
	if err := json.Unmarshal(members, &doc); err != nil {
		t.Fatal(err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	parsers := []*syslog.Parser{
		syslog.NewParser(syslog.FormatRFC5424, time.UTC),
		syslog.NewParser(syslog.FormatRFC3164, time.UTC),
		syslog.NewParser(syslog.FormatAuto, time.UTC),
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		for _, p := range parsers {
			var m syslog.Message
			if err := p.Parse(frame, now, &m); err == nil {
				checkParsed(t, frame, &m)
			}
		}
	})
}

// FuzzRFC5424RoundTrip writes a message from fields and parses it back.
func FuzzRFC5424RoundTrip(f *testing.F) {
	f.Add(uint8(165), int64(1065910455003000000), "mymachine", "evntslog", "1234", "ID47", "iut", `a "quoted" \ ] value`, "the message")
	f.Add(uint8(0), int64(0), "-", "-", "-", "-", "", "", "")
	f.Fuzz(func(t *testing.T, pri uint8, nanos int64, host, app, procid, msgid, name, value, msg string) {
		pri %= 192
		token := func(s string) string {
			if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
				return "-"
			}
			return s
		}
		host, app, procid, msgid = token(host), token(app), token(procid), token(msgid)
		stamp := "-"
		var tm time.Time
		if nanos > 0 {
			tm = time.Unix(0, nanos).UTC()
			stamp = tm.Format(time.RFC3339Nano)
		}
		sd := "-"
		if name != "" && !strings.ContainsAny(name, "= ]\"") && token(name) == name {
			esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`).Replace(value)
			sd = fmt.Sprintf(`[id@1 %s="%s"]`, name, esc)
		}
		frame := fmt.Sprintf("<%d>1 %s %s %s %s %s %s", pri, stamp, host, app, procid, msgid, sd)
		if msg != "" {
			frame += " " + msg
		}
		var m syslog.Message
		if err := syslog.NewParser(syslog.FormatRFC5424, time.UTC).Parse([]byte(frame), now, &m); err != nil {
			t.Fatalf("%q: %v", frame, err)
		}
		checkParsed(t, []byte(frame), &m)
		orDash := func(b []byte) string {
			if b == nil {
				return "-"
			}
			return string(b)
		}
		if m.Priority != int(pri) || !m.Time.Equal(tm) || orDash(m.Hostname) != host || orDash(m.AppName) != app ||
			orDash(m.ProcID) != procid || orDash(m.MsgID) != msgid || string(m.Msg) != strings.TrimPrefix(msg, "\xEF\xBB\xBF") {
			t.Fatalf("%q parsed as %+v", frame, m)
		}
		if sd != "-" {
			var doc struct {
				Syslog struct {
					SD map[string]map[string]string `json:"structured_data"`
				} `json:"syslog"`
			}
			members := append(syslog.AppendMembers([]byte("{"), &m)[1:], '}')
			members[0] = '{'
			if err := json.Unmarshal(members, &doc); err != nil {
				t.Fatalf("%s: %v", members, err)
			}
			if got := doc.Syslog.SD["id@1"][name]; got != replaceInvalid(value) {
				t.Fatalf("value %q came back as %q", value, got)
			}
		}
	})
}

// FuzzFraming checks the framer on any bytes: never a panic, never a frame over max, and the same frames, cuts
// and error whatever the reads' sizes (octet counting, newline framing, cuts at max and the first frame's choice
// alike); and that octet-counted messages come back whole.
func FuzzFraming(f *testing.F) {
	f.Add([]byte("5 hello3 abc"), []byte("x"), uint8(3), uint16(100))
	f.Add([]byte("<13>a\n<13>b\n"), []byte("<13>c"), uint8(1), uint16(4))
	f.Add([]byte("10 users logged in\n<13>0123456789abcdef\nx"), []byte("<13>c"), uint8(2), uint16(8))
	f.Fuzz(func(t *testing.T, raw, msg []byte, chunk uint8, max uint16) {
		limit := int(max%2048) + 1
		frames, cut, err := syslog.Frames(raw, int(chunk)+1, limit)
		for _, fr := range frames {
			if len(fr) > limit {
				t.Fatalf("frame of %d bytes over max %d", len(fr), limit)
			}
		}
		whole, wholeCut, wholeErr := syslog.Frames(raw, len(raw)+1, limit)
		if fmt.Sprintf("%q %v %v", frames, cut, err) != fmt.Sprintf("%q %v %v", whole, wholeCut, wholeErr) {
			t.Fatalf("%q in reads of %d: %q cut %v err %v; in one read: %q cut %v err %v", raw, int(chunk)+1,
				frames, cut, err, whole, wholeCut, wholeErr)
		}
		if len(msg) == 0 {
			return
		}
		var data []byte
		for range 3 {
			data = strconv.AppendInt(data, int64(len(msg)), 10)
			data = append(data, ' ')
			data = append(data, msg...)
		}
		if msg[0] != '<' && len(msg) > limit {
			return // a PRI-less first frame longer than max is read as a line
		}
		frames, cut, err = syslog.Frames(data, int(chunk)+1, limit)
		if err != nil || len(frames) != 3 {
			t.Fatalf("%q: %d frames, err %v", data, len(frames), err)
		}
		for i, fr := range frames {
			want := msg[:min(len(msg), limit)]
			if !bytes.Equal(fr, want) || cut[i] != (len(msg) > limit) {
				t.Fatalf("frame %q cut %v, want %q", fr, cut[i], want)
			}
		}
	})
}

// replaceInvalid replaces each byte of invalid UTF-8 with U+FFFD, as events are encoded.
func replaceInvalid(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// FuzzRFC3164RoundTrip writes a BSD syslog line from fields, as Linux syslog daemons do, and parses it back.
func FuzzRFC3164RoundTrip(f *testing.F) {
	f.Add(uint8(34), int64(1760220855), "mymachine", "su", uint32(1234), "'su root' failed for lonvick")
	f.Add(uint8(0), int64(1709208000), "10.0.0.1", "kernel", uint32(0), "")
	f.Fuzz(func(t *testing.T, pri uint8, unix int64, host, tag string, pid uint32, msg string) {
		pri %= 192
		keep := func(s, allowed string, n int) string {
			s = strings.Map(func(r rune) rune {
				if strings.ContainsRune(allowed, r) || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
					return r
				}
				return -1
			}, s)
			return s[:min(len(s), n)]
		}
		host, tag = keep(host, ".-_", 64), keep(tag, "-_/.", 32)
		if host == "" || tag == "" {
			return
		}
		tm := time.Unix(unix%(1<<32), 0).UTC()
		line := fmt.Sprintf("<%d>%s %s %s", pri, tm.Format(time.Stamp), host, tag)
		if pid > 0 {
			line += fmt.Sprintf("[%d]", pid)
		}
		line += ": " + msg
		var m syslog.Message
		if err := syslog.NewParser(syslog.FormatRFC3164, time.UTC).Parse([]byte(line), tm, &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		checkParsed(t, []byte(line), &m)
		wantPID := ""
		if pid > 0 {
			wantPID = strconv.FormatUint(uint64(pid), 10)
		}
		if m.Priority != int(pri) || !m.Time.Equal(tm) || string(m.Hostname) != host || string(m.AppName) != tag ||
			string(m.ProcID) != wantPID || string(m.Msg) != msg {
			t.Fatalf("%q parsed as priority %d time %s host %q app %q pid %q msg %q", line, m.Priority, m.Time,
				m.Hostname, m.AppName, m.ProcID, m.Msg)
		}
	})
}
