package syslog_test

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/flickerlog/flicker/sources/syslog"
)

// want is what a test expects of a parsed message; fields left empty must be absent ("-" or missing).
type want struct {
	pri                           int // -1: none
	time                          string
	host, app, procid, msgid, msg string
	seq                           string
	members                       string // the rendered JSON members, when checked
	errContains                   string
}

func (w want) check(t *testing.T, m *syslog.Message, err error) {
	t.Helper()
	if w.errContains != "" {
		if err == nil || !strings.Contains(err.Error(), w.errContains) {
			t.Fatalf("error = %v, want one containing %q", err, w.errContains)
		}
		return
	}
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if m.Priority != w.pri {
		t.Errorf("priority = %d, want %d", m.Priority, w.pri)
	}
	gotTime := ""
	if !m.Time.IsZero() {
		gotTime = m.Time.UTC().Format(time.RFC3339Nano)
	}
	if gotTime != w.time {
		t.Errorf("time = %q, want %q", gotTime, w.time)
	}
	for _, f := range []struct {
		name string
		got  []byte
		want string
	}{{"hostname", m.Hostname, w.host}, {"appname", m.AppName, w.app}, {"procid", m.ProcID, w.procid},
		{"msgid", m.MsgID, w.msgid}, {"sequence", m.Sequence, w.seq}} {
		if string(f.got) != f.want || (f.want == "" && f.got != nil) {
			t.Errorf("%s = %q, want %q", f.name, f.got, f.want)
		}
	}
	if string(m.Msg) != w.msg {
		t.Errorf("msg = %q, want %q", m.Msg, w.msg)
	}
	if w.members != "" {
		if got := string(syslog.AppendMembers(nil, m)); got != w.members {
			t.Errorf("members:\n got %s\nwant %s", got, w.members)
		}
	}
}

// now is the read time of the tests: RFC 3164 years resolve around it (TestYearlessTimes): every time of 2026
// up to Jan 7 2027 is in 2026.
var now = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func TestRFC5424(t *testing.T) {
	tests := []struct {
		name, in string
		want     want
	}{
		{"RFC 5424 example 1, BOM", "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xEF\xBB\xBF'su root' failed for lonvick on /dev/pts/8",
			want{pri: 34, time: "2003-10-11T22:14:15.003Z", host: "mymachine.example.com", app: "su", msgid: "ID47",
				msg:     "'su root' failed for lonvick on /dev/pts/8",
				members: `,"syslog":{"priority":34,"facility":4,"facility_label":"auth","severity":2,"severity_label":"crit","appname":"su","msgid":"ID47"},"host":{"hostname":"mymachine.example.com"}`}},
		{"RFC 5424 example 2, offset", "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
			want{pri: 165, time: "2003-08-24T12:14:15.000003Z", host: "192.0.2.1", app: "myproc", procid: "8710",
				msg: "%% It's time to make the do-nuts."}},
		{"RFC 5424 example 3, structured data", `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry...`,
			want{pri: 165, time: "2003-10-11T22:14:15.003Z", host: "mymachine.example.com", app: "evntslog", msgid: "ID47",
				msg:     "An application event log entry...",
				members: `,"syslog":{"priority":165,"facility":20,"facility_label":"local4","severity":5,"severity_label":"notice","appname":"evntslog","msgid":"ID47","structured_data":{"exampleSDID@32473":{"iut":"3","eventSource":"Application","eventID":"1011"}}},"host":{"hostname":"mymachine.example.com"}`}},
		{"RFC 5424 example 4, two elements, no message", `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]`,
			want{pri: 165, time: "2003-10-11T22:14:15.003Z", host: "mymachine.example.com", app: "evntslog", msgid: "ID47",
				members: `,"syslog":{"priority":165,"facility":20,"facility_label":"local4","severity":5,"severity_label":"notice","appname":"evntslog","msgid":"ID47","structured_data":{"exampleSDID@32473":{"iut":"3","eventSource":"Application","eventID":"1011"},"examplePriority@32473":{"class":"high"}}},"host":{"hostname":"mymachine.example.com"}`}},
		{"escapes in values, repeated names and ids", `<14>1 - - - - - [a@1 q="say \"hi\"" b="back\\slash" c="close\]" d="keep\n"][a@1 q="again"][empty@1] text`,
			want{pri: 14, msg: "text",
				members: `,"syslog":{"priority":14,"facility":1,"facility_label":"user","severity":6,"severity_label":"info","structured_data":{"a@1":{"q":["say \"hi\"","again"],"b":"back\\slash","c":"close]","d":"keep\\n"},"empty@1":{}}}`}},
		{"all nil", "<0>1 - - - - - -", want{pri: 0}},
		{"Juniper structured", `<165>1 2007-02-15T09:17:15.719Z router1 mgd 3046 UI_DBASE_LOGOUT_EVENT [junos@2636.1.1.1.2.18 username="regress"] User 'regress' exiting configuration mode`,
			want{pri: 165, time: "2007-02-15T09:17:15.719Z", host: "router1", app: "mgd", procid: "3046", msgid: "UI_DBASE_LOGOUT_EVENT",
				msg: "User 'regress' exiting configuration mode"}},
		{"rsyslog RSYSLOG_SyslogProtocol23Format", "<30>1 2026-12-07T10:59:59.123456+01:00 web-1 systemd 1 - - Started Daily apt download activities.",
			want{pri: 30, time: "2026-12-07T09:59:59.123456Z", host: "web-1", app: "systemd", procid: "1", msg: "Started Daily apt download activities."}},
		{"bad month", "<34>1 2003-13-11T22:14:15Z host app - - - x", want{errContains: "RFC 3339 timestamp"}},
		{"unclosed element", `<34>1 - host app - - [a@1 b="c"`, want{errContains: "want ']'"}},
		{"unclosed value", `<34>1 - host app - - [a@1 b="c] x`, want{errContains: "closing the PARAM-VALUE"}},
		{"missing fields", "<34>1 - host app", want{errContains: "app-name"}},
		{"priority too high", "<192>1 - - - - - -", want{errContains: "0 to 191"}},
		{"no priority", "1 - - - - - -", want{errContains: "want '<'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m syslog.Message
			err := syslog.NewParser(syslog.FormatRFC5424, time.UTC).Parse([]byte(tt.in), now, &m)
			tt.want.check(t, &m, err)
		})
	}
}

func TestRFC3164(t *testing.T) {
	tests := []struct {
		name, in string
		want     want
	}{
		{"RFC 3164 example", "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
			want{pri: 34, time: "2026-10-11T22:14:15Z", host: "mymachine", app: "su", msg: "'su root' failed for lonvick on /dev/pts/8"}},
		{"RFC 3164 example without a tag", "<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!",
			want{pri: 13, time: "2026-02-05T17:32:18Z", host: "10.0.0.99", msg: "Use the BFG!"}},
		{"Linux rsyslog, tag[pid]", "<30>Dec  7 10:59:59 web-1 systemd[1]: Started Daily apt download activities.",
			want{pri: 30, time: "2026-12-07T10:59:59Z", host: "web-1", app: "systemd", procid: "1", msg: "Started Daily apt download activities.",
				members: `,"syslog":{"priority":30,"facility":3,"facility_label":"daemon","severity":6,"severity_label":"info","appname":"systemd","procid":"1"},"host":{"hostname":"web-1"}`}},
		{"rsyslog forwarding format, RFC 3339 time", "<30>2026-12-07T10:59:59.123456+01:00 web-1 sshd[812]: Accepted publickey for root",
			want{pri: 30, time: "2026-12-07T09:59:59.123456Z", host: "web-1", app: "sshd", procid: "812", msg: "Accepted publickey for root"}},
		{"RFC 3339 time without a zone", "<30>2026-12-07T10:59:59 web-1 app: x",
			want{pri: 30, time: "2026-12-07T10:59:59Z", host: "web-1", app: "app", msg: "x"}},
		{"Juniper", "<28>Mar 18 08:04:53 fw01 mgd[7621]: UI_COMMIT: User 'root' requested 'commit' operation",
			want{pri: 28, time: "2026-03-18T08:04:53Z", host: "fw01", app: "mgd", procid: "7621", msg: "UI_COMMIT: User 'root' requested 'commit' operation"}},
		{"Cisco IOS counter, unsynchronised clock, no host", "<189>237: *Jan  8 19:46:03.295: %SYS-5-CONFIG_I: Configured from console by console",
			want{pri: 189, seq: "237", time: "2026-01-08T19:46:03.295Z", app: "%SYS-5-CONFIG_I", msg: "Configured from console by console"}},
		{"Cisco IOS counter and sequence number", "<189>105: 000104: Mar 12 07:12:10: %SYS-5-CONFIG_I: Configured from console by console",
			want{pri: 189, seq: "000104", time: "2026-03-12T07:12:10Z", app: "%SYS-5-CONFIG_I", msg: "Configured from console by console",
				members: `,"syslog":{"priority":189,"facility":23,"facility_label":"local7","severity":5,"severity_label":"notice","appname":"%SYS-5-CONFIG_I","sequence":104}`}},
		{"Cisco IOS origin host name", "<189>269614: hostname1: Apr 11 10:02:08: %LINEPROTO-5-UPDOWN: Line protocol on Interface GigabitEthernet7/0/34, changed state to up",
			want{pri: 189, seq: "269614", time: "2026-04-11T10:02:08Z", host: "hostname1", app: "%LINEPROTO-5-UPDOWN", msg: "Line protocol on Interface GigabitEthernet7/0/34, changed state to up"}},
		{"Cisco year and zone", "<187>52: Mar  1 2026 18:46:11.123 UTC: %LINK-3-UPDOWN: Interface FastEthernet0/0, changed state to up",
			want{pri: 187, seq: "52", time: "2026-03-01T18:46:11.123Z", app: "%LINK-3-UPDOWN", msg: "Interface FastEthernet0/0, changed state to up"}},
		{"BSD logger without a host name", "<13>Dec  7 11:00:00 alice: hello from a BSD logger",
			want{pri: 13, time: "2026-12-07T11:00:00Z", app: "alice", msg: "hello from a BSD logger"}},
		{"zero-padded day", "<13>Dec 07 11:00:00 host app: x", want{pri: 13, time: "2026-12-07T11:00:00Z", host: "host", app: "app", msg: "x"}},
		{"no priority", "Dec  7 11:00:00 host app: x", want{pri: -1, time: "2026-12-07T11:00:00Z", host: "host", app: "app", msg: "x",
			members: `,"syslog":{"appname":"app"},"host":{"hostname":"host"}`}},
		{"no time", "<13>app[42]: message", want{pri: 13, app: "app", procid: "42", msg: "message"}},
		{"text only", "<13>just some text", want{pri: 13, msg: "just some text"}},
		{"no priority, no time", "plain line: with a colon", want{pri: -1, msg: "plain line: with a colon"}},
		{"a word that is no host name", "<13>Dec  7 11:00:00 user=bob action=login", want{pri: 13, time: "2026-12-07T11:00:00Z", msg: "user=bob action=login"}},
		{"a URL is no tag", "<13>Dec  7 11:00:00 h http://example.com is down", want{pri: 13, time: "2026-12-07T11:00:00Z", host: "h", msg: "http://example.com is down"}},
		{"a tag ending the frame", "<13>Dec  7 11:00:00 h app:", want{pri: 13, time: "2026-12-07T11:00:00Z", host: "h", app: "app"}},
		{"empty tag pid", "<13>Dec  7 11:00:00 h app[]: x", want{pri: 13, time: "2026-12-07T11:00:00Z", host: "h", app: "app", msg: "x"}},
		{"priority too high", "<999>Oct 11 22:14:15 host app: x", want{errContains: "0 to 191"}},
		{"priority of four digits", "<1234>x", want{errContains: "'>'"}},
		{"priority not a number", "<abc>x", want{errContains: "priority's digits"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m syslog.Message
			err := syslog.NewParser(syslog.FormatRFC3164, time.UTC).Parse([]byte(tt.in), now, &m)
			tt.want.check(t, &m, err)
		})
	}
}

func TestAutoPicksTheFormat(t *testing.T) {
	p := syslog.NewParser(syslog.FormatAuto, time.UTC)
	var m syslog.Message
	if err := p.Parse([]byte("<165>1 2003-10-11T22:14:15.003Z host app - ID47 - hi"), now, &m); err != nil || string(m.MsgID) != "ID47" {
		t.Fatalf("RFC 5424 message: msgid %q, err %v", m.MsgID, err)
	}
	if err := p.Parse([]byte("<34>Oct 11 22:14:15 host su: hi"), now, &m); err != nil || string(m.AppName) != "su" || m.MsgID != nil {
		t.Fatalf("RFC 3164 message: appname %q msgid %q, err %v", m.AppName, m.MsgID, err)
	}
	// Looks like RFC 5424 (<PRI>VERSION SP) and is not: read as RFC 3164, not shipped as malformed.
	for in, msg := range map[string]string{
		"<13>42 items processed":              "42 items processed",
		"<13>1 hello world":                   "1 hello world",
		"<34>1 2003-10-11T22:14:15.003Z host": "1 2003-10-11T22:14:15.003Z host",
	} {
		if err := p.Parse([]byte(in), now, &m); err != nil || string(m.Msg) != msg || m.Priority != 13 && m.Priority != 34 {
			t.Errorf("%q in auto mode: msg %q priority %d, err %v; want RFC 3164 with msg %q", in, m.Msg, m.Priority, err, msg)
		}
	}
	// With format rfc5424, it is an error.
	if err := syslog.NewParser(syslog.FormatRFC5424, time.UTC).Parse([]byte("<13>42 items processed"), now, &m); err == nil || !strings.Contains(err.Error(), "RFC 5424") {
		t.Fatalf("not RFC 5424 with format rfc5424: err %v", err)
	}
}

func TestYearlessTimes(t *testing.T) {
	tests := []struct {
		name string
		now  time.Time
		in   string
		want string // "" : no time
	}{
		{"Dec 31 read on Jan 1 is last year", time.Date(2027, 1, 1, 0, 0, 10, 0, time.UTC), "<13>Dec 31 23:59:59 h a: x", "2026-12-31T23:59:59Z"},
		{"Jan 1 read on Dec 31 is this year's", time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC), "<13>Jan  1 00:00:30 h a: x", "2026-01-01T00:00:30Z"},
		{"mid-year stays in the year", time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), "<13>Jan  1 00:00:00 h a: x", "2026-01-01T00:00:00Z"},
		{"six months old is this year", time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC), "<13>Jun  5 10:00:00 h a: x", "2026-06-05T10:00:00Z"},
		{"a sender's clock a few days ahead is this year", time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC), "<13>Dec 20 10:00:00 h a: x", "2026-12-20T10:00:00Z"},
		{"more than a month ahead is last year", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), "<13>Jun  5 10:00:00 h a: x", "2025-06-05T10:00:00Z"},
		{"Feb 29 in a leap year", time.Date(2028, 3, 1, 0, 0, 0, 0, time.UTC), "<13>Feb 29 12:00:00 h a: x", "2028-02-29T12:00:00Z"},
		{"Feb 29 read the year after", time.Date(2029, 1, 10, 0, 0, 0, 0, time.UTC), "<13>Feb 29 12:00:00 h a: x", "2028-02-29T12:00:00Z"},
		{"Feb 29 when neither this nor last year is a leap year is no time", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), "<13>Feb 29 12:00:00 h a: x", ""},
		{"Feb 30 is no time", now, "<13>Feb 30 12:00:00 h a: x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m syslog.Message
			if err := syslog.NewParser(syslog.FormatRFC3164, time.UTC).Parse([]byte(tt.in), tt.now, &m); err != nil {
				t.Fatal(err)
			}
			got := ""
			if !m.Time.IsZero() {
				got = m.Time.UTC().Format(time.RFC3339Nano)
			}
			if got != tt.want {
				t.Fatalf("time = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTimezoneOfZonelessTimes(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris") // time/tzdata is linked in: never missing
	if err != nil {
		t.Fatal(err)
	}
	p := syslog.NewParser(syslog.FormatRFC3164, paris)
	var m syslog.Message
	for in, want := range map[string]string{
		"<13>Oct 11 22:14:15 h a: x":              "2026-10-11T20:14:15Z", // CEST
		"<13>2026-12-07T10:00:00 h a: x":          "2026-12-07T09:00:00Z", // CET
		"<13>2026-12-07T10:00:00+00:00 h a: x":    "2026-12-07T10:00:00Z", // its own zone wins
		"<13>4: Dec  7 10:00:00.5 UTC: %A-1-B: x": "2026-12-07T10:00:00.5Z",
	} {
		if err := p.Parse([]byte(in), now, &m); err != nil {
			t.Fatal(err)
		}
		if got := m.Time.UTC().Format(time.RFC3339Nano); got != want {
			t.Errorf("%s: time %s, want %s", in, got, want)
		}
	}
}

// Structured data of thousands of tiny elements costs no more than its bytes: parsing keeps at most maxSDParams
// entries (no allocation once a Message and its renderer are reused), and the text goes to
// syslog.structured_data_raw, never to syslog.structured_data (which stays an object).
func TestStructuredDataBeyondTheCap(t *testing.T) {
	sd := strings.Repeat("[a]", 20000)
	frame := []byte("<1>1 - - - - - " + sd + " msg")
	p := syslog.NewParser(syslog.FormatAuto, time.UTC)
	var m syslog.Message
	var out []byte
	run := func() {
		if err := p.Parse(frame, now, &m); err != nil {
			t.Fatal(err)
		}
		out = syslog.AppendMembers(out[:0], &m)
	}
	run()
	if want := `,"syslog":{"priority":1,"facility":0,"facility_label":"kern","severity":1,"severity_label":"alert","structured_data_raw":"` + sd + `"}`; string(out) != want {
		t.Fatalf("members %.200s..., want structured_data_raw with the text", out)
	}
	if allocs := testing.AllocsPerRun(5, run); allocs > 1 {
		t.Fatalf("%v allocations per message of 20000 SD elements, want none beyond the members' buffer", allocs)
	}
	var few syslog.Message
	if err := p.Parse([]byte(`<1>1 - - - - - [a x="1"][b] msg`), now, &few); err != nil {
		t.Fatal(err)
	}
	if got := string(syslog.AppendMembers(nil, &few)); !strings.Contains(got, `"structured_data":{"a":{"x":"1"},"b":{}}`) || strings.Contains(got, "raw") {
		t.Fatalf("members %s, want structured_data as an object", got)
	}
}
