package processors

import (
	"bytes"
	"fmt"
	"strconv"
)

// preset is one of the formats NewPreset knows.
type preset struct {
	name    string
	layout  presetLayout
	timeKey string
}

type presetLayout uint8

const (
	layoutCommon presetLayout = iota
	layoutCombined
	layoutSyslog
)

// NewPreset returns the parser of a named format (see ParsePresetConfig). The presets parse the formats users
// ship most, by hand (no regex, no allocation on a well-formed line), into ECS field names. Quoted values keep
// their escapes as written (\" in Apache's, \x22 in nginx's); a "-" written for "none" leaves its field out. Each
// preset puts the log's time, as written, in its own field, for the timestamp processor.
//
// apache_common, and tomcat_access (Tomcat's default AccessLogValve pattern "%h %l %u %t \"%r\" %s %b", the
// same layout): Apache's "%h %l %u %t \"%r\" %>s %b".
//
//	127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326
//
//	source.address              127.0.0.1 (the client: an IPv4 or IPv6 address, or a host name)
//	user.name                   frank
//	apache.access.time          10/Oct/2000:13:55:36 -0700 (tomcat.access.time for tomcat_access);
//	                            timestamp layout "02/Jan/2006:15:04:05 -0700"
//	http.request.method         GET
//	url.original                /apache_pb.gif
//	http.version                1.0
//	http.response.status_code   200 (a number)
//	http.response.body.bytes    2326 (a number)
//
// A request line that is not "METHOD URL[ HTTP/x]" ("-", or the bytes of a TLS handshake sent to a plain port)
// sets none of the request fields; the line still parses. Text after a layout's last field is a parse error: an
// extended layout (nginx's with "$http_x_forwarded_for" after the user agent) wants a dissect pattern.
//
// apache_combined, and nginx_combined (nginx's default "combined" log_format, the same layout): the common
// layout followed by the referrer and the user agent, time in apache.access.time or nginx.access.time.
//
//	203.0.113.9 - - [07/Dec/2026:13:31:21 +0000] "GET /a?b=1 HTTP/1.1" 304 - "https://example.com/" "curl/8.5.0"
//
//	http.request.referrer       https://example.com/
//	user_agent.original         curl/8.5.0
//
// syslog: a line of /var/log/syslog or /var/log/messages, RFC 3164 with the "Mmm dd hh:mm:ss" time, or the ISO
// time rsyslog writes with its RSYSLOG_FileFormat template; a leading <PRI> is read when present.
//
//	Dec  7 13:31:21 web-1 sshd[1234]: Accepted publickey for deploy from 10.0.0.5
//	2026-12-07T13:31:21.123456+00:00 web-1 CRON[99]: (root) CMD (run-parts /etc/cron.hourly)
//
//	log.syslog.priority         (from <PRI>: a number, with log.syslog.facility.code and log.syslog.severity.code)
//	syslog.time                 Dec  7 13:31:21 (timestamp layout "Jan _2 15:04:05": the year is not written) or
//	                            2026-12-07T13:31:21.123456+00:00 (layout RFC3339)
//	host.hostname               web-1
//	process.name                sshd
//	process.pid                 1234 (a number; a tag like app[x] is all process.name)
//	message                     Accepted publickey for deploy from 10.0.0.5 (the text after the tag)
func NewPreset(name string) (Parser, error) {
	switch name {
	case "apache_common":
		return &preset{name, layoutCommon, "apache.access.time"}, nil
	case "tomcat_access":
		return &preset{name, layoutCommon, "tomcat.access.time"}, nil
	case "apache_combined":
		return &preset{name, layoutCombined, "apache.access.time"}, nil
	case "nginx_combined":
		return &preset{name, layoutCombined, "nginx.access.time"}, nil
	case "syslog":
		return &preset{name, layoutSyslog, "syslog.time"}, nil
	}
	return nil, fmt.Errorf("unknown preset %q: use one of apache_common, apache_combined, nginx_combined, tomcat_access, syslog", name)
}

func (p *preset) Parse(val []byte, out Setter) error {
	c := presetCursor{preset: p.name, b: val}
	if p.layout == layoutSyslog {
		return p.parseSyslog(&c, out)
	}
	return p.parseAccess(&c, out)
}

// presetCursor walks a line; its errors name the preset, what was expected and the byte it was expected at.
type presetCursor struct {
	preset string
	b      []byte
	pos    int
}

func (c *presetCursor) errorf(what string) error {
	return fmt.Errorf("%s: expected %s at byte %d", c.preset, what, c.pos)
}

// word reads up to the next space, which it consumes; at the end of the line, when last, the rest.
func (c *presetCursor) word(what string, last bool) ([]byte, error) {
	rest := c.b[c.pos:]
	i := bytes.IndexByte(rest, ' ')
	switch {
	case i > 0:
		c.pos += i + 1
		return rest[:i], nil
	case i < 0 && last && len(rest) > 0:
		c.pos = len(c.b)
		return rest, nil
	case i < 0 && len(rest) > 0:
		c.pos = len(c.b)
		return nil, c.errorf("a space after " + what)
	}
	return nil, c.errorf(what)
}

// delimited reads open, a value up to close, close, and the space after it unless last (then the line ends).
// A backslash escapes the next byte in a quoted value.
func (c *presetCursor) delimited(what string, open, close byte, last bool) ([]byte, error) {
	if c.pos >= len(c.b) || c.b[c.pos] != open {
		return nil, c.errorf(what)
	}
	start := c.pos + 1
	i := start
	for ; i < len(c.b) && c.b[i] != close; i++ {
		if c.b[i] == '\\' && close == '"' {
			i++
		}
	}
	if i >= len(c.b) {
		return nil, c.errorf(fmt.Sprintf("%s closed by %q", what, close))
	}
	v := c.b[start:i]
	c.pos = i + 1
	if err := c.space(last); err != nil {
		return nil, err
	}
	return v, nil
}

func (c *presetCursor) space(last bool) error {
	if last {
		if c.pos != len(c.b) {
			return c.errorf("the end of the line")
		}
		return nil
	}
	if c.pos >= len(c.b) || c.b[c.pos] != ' ' {
		return c.errorf("a space")
	}
	c.pos++
	return nil
}

func isDash(v []byte) bool { return len(v) == 1 && v[0] == '-' }

func (p *preset) parseAccess(c *presetCursor, out Setter) error {
	combined := p.layout == layoutCombined
	host, err := c.word("the client address", false)
	if err != nil {
		return err
	}
	if _, err := c.word("the identity (-)", false); err != nil {
		return err
	}
	user, err := c.word("the user name", false)
	if err != nil {
		return err
	}
	ts, err := c.delimited("the [time]", '[', ']', false)
	if err != nil {
		return err
	}
	req, err := c.delimited(`the "request"`, '"', '"', false)
	if err != nil {
		return err
	}
	statusAt := c.pos
	status, err := c.word("the status code", false)
	if err != nil {
		return err
	}
	bytesAt := c.pos
	size, err := c.word("the response size", !combined)
	if err != nil {
		return err
	}
	if !combined {
		if err := c.space(true); err != nil {
			return err
		}
	}
	var referrer, agent []byte
	if combined {
		if referrer, err = c.delimited(`the "referrer"`, '"', '"', false); err != nil {
			return err
		}
		if agent, err = c.delimited(`the "user agent"`, '"', '"', true); err != nil {
			return err
		}
	}
	statusNum, ok := jsonInteger(status)
	if !ok || status[0] == '-' {
		return fmt.Errorf("%s: status code %q at byte %d is not a number", p.name, status, statusAt)
	}
	sizeNum, ok := jsonInteger(size)
	if !isDash(size) && (!ok || size[0] == '-') {
		return fmt.Errorf("%s: response size %q at byte %d is neither a number nor -", p.name, size, bytesAt)
	}

	out.SetString("source.address", host)
	if !isDash(user) {
		out.SetString("user.name", user)
	}
	out.SetString(p.timeKey, ts)
	if method, url, version, ok := splitRequest(req); ok {
		out.SetString("http.request.method", method)
		out.SetString("url.original", url)
		if version != nil {
			out.SetString("http.version", version)
		}
	}
	out.SetRaw("http.response.status_code", statusNum)
	if !isDash(size) {
		out.SetRaw("http.response.body.bytes", sizeNum)
	}
	if combined {
		if !isDash(referrer) && len(referrer) > 0 {
			out.SetString("http.request.referrer", referrer)
		}
		if !isDash(agent) && len(agent) > 0 {
			out.SetString("user_agent.original", agent)
		}
	}
	return nil
}

// splitRequest splits "GET /a b HTTP/1.1" into GET, "/a b" and 1.1; an HTTP/0.9 "GET /" has no version. A
// request whose first word is not an upper-case method is not split.
func splitRequest(req []byte) (method, url, version []byte, ok bool) {
	sp := bytes.IndexByte(req, ' ')
	if sp <= 0 || sp > 32 {
		return nil, nil, nil, false
	}
	method = req[:sp]
	for _, c := range method {
		if (c < 'A' || c > 'Z') && c != '-' && c != '_' {
			return nil, nil, nil, false
		}
	}
	url = req[sp+1:]
	if last := bytes.LastIndexByte(url, ' '); last >= 0 && bytes.HasPrefix(url[last+1:], []byte("HTTP/")) {
		url, version = url[:last], url[last+len(" HTTP/"):]
	}
	if len(url) == 0 {
		return nil, nil, nil, false
	}
	return method, url, version, true
}

// smallInts are the JSON texts of 0 to 191, the range of a syslog priority, so that setting one allocates
// nothing.
var smallInts = func() [192][]byte {
	var t [192][]byte
	for i := range t {
		t[i] = strconv.AppendInt(nil, int64(i), 10)
	}
	return t
}()

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

func (p *preset) parseSyslog(c *presetCursor, out Setter) error {
	pri := -1
	if c.pos < len(c.b) && c.b[c.pos] == '<' {
		end := bytes.IndexByte(c.b[:min(len(c.b), 5)], '>')
		if end < 2 {
			return c.errorf("<priority>")
		}
		pri = 0
		for _, d := range c.b[1:end] {
			if d < '0' || d > '9' {
				pri = -1
				break
			}
			pri = pri*10 + int(d-'0')
		}
		if pri < 0 || pri > 191 {
			return fmt.Errorf("%s: priority %q is not a number from 0 to 191", p.name, c.b[1:end])
		}
		c.pos = end + 1
	}
	var ts []byte
	if rest := c.b[c.pos:]; isBSDTime(rest) {
		ts = rest[:15]
		c.pos += 15
		if err := c.space(false); err != nil {
			return err
		}
	} else {
		w, err := c.word(`the time ("Mmm dd hh:mm:ss" or RFC 3339)`, false)
		if err != nil {
			return err
		}
		if !isISOTime(w) {
			c.pos -= len(w) + 1
			return c.errorf(`the time ("Mmm dd hh:mm:ss" or RFC 3339)`)
		}
		ts = w
	}
	host, err := c.word("the host name", true)
	if err != nil {
		return err
	}
	msg := c.b[c.pos:]
	name, pid, text := splitTag(msg)

	if pri >= 0 {
		out.SetRaw("log.syslog.priority", smallInts[pri])
		out.SetRaw("log.syslog.facility.code", smallInts[pri/8])
		out.SetRaw("log.syslog.severity.code", smallInts[pri%8])
	}
	out.SetString(p.timeKey, ts)
	out.SetString("host.hostname", host)
	if name != nil {
		out.SetString("process.name", name)
	}
	if pid != nil {
		out.SetRaw("process.pid", pid)
	}
	out.SetString("message", text)
	return nil
}

// isBSDTime reports whether b starts with RFC 3164's "Mmm dd hh:mm:ss" (the day space-padded).
func isBSDTime(b []byte) bool {
	if len(b) < 15 {
		return false
	}
	month := false
	for _, m := range months {
		if string(b[:3]) == m {
			month = true
			break
		}
	}
	digit := func(i int) bool { return b[i] >= '0' && b[i] <= '9' }
	return month && b[3] == ' ' && (b[4] == ' ' || digit(4)) && digit(5) && b[6] == ' ' &&
		digit(7) && digit(8) && b[9] == ':' && digit(10) && digit(11) && b[12] == ':' && digit(13) && digit(14)
}

// isISOTime reports whether w looks like an RFC 3339 time: a date, T, a time (checked by the timestamp
// processor, which parses it).
func isISOTime(w []byte) bool {
	return len(w) >= 19 && w[4] == '-' && w[7] == '-' && (w[10] == 'T' || w[10] == 't') && w[13] == ':'
}

// splitTag splits "sshd[1234]: text" into sshd, 1234 and text; "kernel: text" has no pid, nor "app[x]: text",
// whose name is app[x]. Text with no tag is all message.
func splitTag(msg []byte) (name, pid, text []byte) {
	i := 0
	for i < len(msg) && i <= 48 && msg[i] != '[' && msg[i] != ':' && msg[i] != ' ' {
		i++
	}
	if i == 0 || i >= len(msg) {
		return nil, nil, msg
	}
	name = msg[:i]
	rest := msg[i:]
	if rest[0] == '[' {
		end := bytes.IndexByte(rest, ']')
		if end < 0 || end+1 >= len(rest) || rest[end+1] != ':' {
			return nil, nil, msg
		}
		if n, ok := jsonInteger(rest[1:end]); ok && n[0] != '-' {
			pid = n
		} else {
			// Not a pid: the brackets are part of the name, as Filebeat's syslog pattern reads them; never lost.
			name = msg[:i+end+1]
		}
		rest = rest[end+1:]
	}
	if rest[0] != ':' {
		return nil, nil, msg
	}
	rest = rest[1:]
	if len(rest) > 0 && rest[0] == ' ' {
		rest = rest[1:]
	}
	return name, pid, rest
}
