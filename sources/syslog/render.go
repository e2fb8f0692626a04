package syslog

import (
	"bytes"
	"net/netip"
	"strconv"
	"unicode/utf8"

	"github.com/flickerlog/flicker/internal/eventjson"
)

// facilities and severities are the names rsyslog gives the codes (its syslogfacility-text and
// syslogseverity-text properties), the words syslog users filter on.
var (
	facilities = [24]string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
		"authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
		"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}
	severities = [8]string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}
)

// maxSDParams bounds the parameters parsed and rendered as a JSON object (duplicates are merged, in quadratic
// time); structured data with more is rendered as its text, under its own key (syslog.structured_data_raw) so
// that syslog.structured_data is always an object (one mapping in Elasticsearch).
const maxSDParams = 128

// renderer appends the JSON members of parsed messages; its scratch buffer is reused.
type renderer struct {
	scratch []byte
	invalid int // bytes of invalid UTF-8 in the strings rendered (each becomes U+FFFD), for the caller to count
}

// appendString appends s as a JSON string, counting its invalid UTF-8.
func (r *renderer) appendString(dst, s []byte) []byte {
	r.invalid += invalidUTF8(s)
	return eventjson.AppendString(dst, s)
}

// invalidUTF8 counts the bytes of s that are not valid UTF-8, as eventjson replaces them: one U+FFFD each.
func invalidUTF8(s []byte) int {
	if utf8.Valid(s) {
		return 0
	}
	n := 0
	for len(s) > 0 {
		r, size := utf8.DecodeRune(s)
		if r == utf8.RuneError && size == 1 {
			n++
		}
		s = s[size:]
	}
	return n
}

// appendMessage appends the members of m: `,"syslog":{...}` (when it has any) and `,"host":{"hostname":...}`.
func (r *renderer) appendMessage(dst []byte, m *Message) []byte {
	start := len(dst)
	dst = append(dst, `,"syslog":{`...)
	open := len(dst)
	sep := func(dst []byte) []byte {
		if len(dst) > open {
			dst = append(dst, ',')
		}
		return dst
	}
	if m.Priority >= 0 {
		f, s := m.Facility(), m.Severity()
		dst = append(dst, `"priority":`...)
		dst = strconv.AppendInt(dst, int64(m.Priority), 10)
		dst = append(dst, `,"facility":`...)
		dst = strconv.AppendInt(dst, int64(f), 10)
		dst = append(dst, `,"facility_label":"`...)
		dst = append(dst, facilities[f]...)
		dst = append(dst, `","severity":`...)
		dst = strconv.AppendInt(dst, int64(s), 10)
		dst = append(dst, `,"severity_label":"`...)
		dst = append(dst, severities[s]...)
		dst = append(dst, '"')
	}
	for _, f := range [...]struct {
		key string
		v   []byte
	}{{`"appname":`, m.AppName}, {`"procid":`, m.ProcID}, {`"msgid":`, m.MsgID}} {
		if f.v != nil {
			dst = sep(dst)
			dst = append(dst, f.key...)
			dst = r.appendString(dst, f.v)
		}
	}
	if m.Sequence != nil {
		dst = sep(dst)
		dst = append(dst, `"sequence":`...)
		seq := bytes.TrimLeft(m.Sequence, "0")
		if len(seq) == 0 {
			seq = m.Sequence[:1]
		}
		dst = append(dst, seq...)
	}
	switch {
	case m.sdRaw != nil:
		dst = sep(dst)
		dst = append(dst, `"structured_data_raw":`...)
		dst = r.appendString(dst, m.sdRaw)
	case len(m.sd) > 0:
		dst = sep(dst)
		dst = append(dst, `"structured_data":`...)
		dst = r.appendSD(dst, m.sd)
	}
	if len(dst) == open {
		dst = dst[:start]
	} else {
		dst = append(dst, '}')
	}
	if m.Hostname != nil {
		dst = append(dst, `,"host":{"hostname":`...)
		dst = r.appendString(dst, m.Hostname)
		dst = append(dst, '}')
	}
	return dst
}

// appendSD renders structured data as an object of SD-IDs, each an object of its parameters:
// {"exampleSDID@32473":{"iut":"3","eventSource":"Application"}}. A repeated SD-ID's parameters are merged and a
// repeated PARAM-NAME (RFC 5424 allows it) becomes an array of its values, so that the object has no duplicate
// keys.
func (r *renderer) appendSD(dst []byte, sd []sdParam) []byte {
	dst = append(dst, '{')
	firstID := true
	for i := range sd {
		if seenBefore(sd, i, func(a, b *sdParam) bool { return bytes.Equal(a.id, b.id) }) {
			continue
		}
		if !firstID {
			dst = append(dst, ',')
		}
		firstID = false
		dst = r.appendString(dst, sd[i].id)
		dst = append(dst, ":{"...)
		firstName := true
		for j := i; j < len(sd); j++ {
			p := &sd[j]
			if p.name == nil || !bytes.Equal(p.id, sd[i].id) ||
				seenBefore(sd, j, func(a, b *sdParam) bool { return bytes.Equal(a.id, b.id) && bytes.Equal(a.name, b.name) }) {
				continue
			}
			if !firstName {
				dst = append(dst, ',')
			}
			firstName = false
			dst = r.appendString(dst, p.name)
			dst = append(dst, ':')
			n := 0
			for k := j; k < len(sd); k++ {
				if bytes.Equal(sd[k].id, p.id) && bytes.Equal(sd[k].name, p.name) {
					n++
				}
			}
			if n == 1 {
				dst = r.appendValue(dst, p)
				continue
			}
			dst = append(dst, '[')
			for k := j; k < len(sd); k++ {
				if bytes.Equal(sd[k].id, p.id) && bytes.Equal(sd[k].name, p.name) {
					if k > j {
						dst = append(dst, ',')
					}
					dst = r.appendValue(dst, &sd[k])
				}
			}
			dst = append(dst, ']')
		}
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// seenBefore reports whether an entry before sd[i] is the same as it.
func seenBefore(sd []sdParam, i int, same func(a, b *sdParam) bool) bool {
	for k := range i {
		if same(&sd[k], &sd[i]) {
			return true
		}
	}
	return false
}

func (r *renderer) appendValue(dst []byte, p *sdParam) []byte {
	if !p.esc {
		return r.appendString(dst, p.value)
	}
	r.scratch = unescapeSD(r.scratch[:0], p.value)
	return r.appendString(dst, r.scratch)
}

// appendSource appends `,"source":{"address":"10.0.0.1","port":514}`.
func appendSource(dst []byte, peer netip.AddrPort) []byte {
	dst = append(dst, `,"source":{"address":"`...)
	dst = peer.Addr().Unmap().AppendTo(dst)
	dst = append(dst, `","port":`...)
	dst = strconv.AppendUint(dst, uint64(peer.Port()), 10)
	return append(dst, '}')
}

// appendError appends `,"error":{"message":...}`.
func appendError(dst []byte, err error) []byte {
	dst = append(dst, `,"error":{"message":`...)
	dst = eventjson.AppendString(dst, []byte(err.Error()))
	return append(dst, '}')
}

// truncatedFlag marks a message cut at max_message_bytes, as Filebeat marks its cut lines.
const truncatedFlag = `,"log":{"flags":["truncated"]}`
