package elasticsearch

import (
	"time"
	"unicode/utf8"

	"github.com/flickerlog/flicker/engine"
)

// actionWriter renders bulk action lines, {"index":{"_index":"logs-2026.01.02","_id":"..."}}, caching the part
// before the id for the index slot of the last event: consecutive events almost always share their index.
type actionWriter struct {
	op     string
	index  *indexPattern
	slot   int64
	ok     bool
	prefix []byte // `{"<op>":{"_index":"<name>","_id":"`
}

func newActionWriter(op string, index *indexPattern) *actionWriter {
	return &actionWriter{op: op, index: index}
}

// appendAction appends the action line of ev, with its newline.
func (a *actionWriter) appendAction(dst []byte, ev *engine.Event) []byte {
	if slot := a.index.slot(ev.Time); !a.ok || slot != a.slot {
		a.render(ev.Time)
		a.slot, a.ok = slot, true
	}
	dst = append(dst, a.prefix...)
	dst = appendID(dst, ev)
	return append(dst, "\"}}\n"...)
}

func (a *actionWriter) render(t time.Time) {
	p := append(a.prefix[:0], `{"`...)
	p = append(p, a.op...)
	p = append(p, `":{"_index":"`...)
	p = a.index.appendName(p, t) // valid index names need no escaping (parseIndex checked)
	a.prefix = append(p, `","_id":"`...)
}

// appendID appends the event's id as the document's "id" member holds it (see internal/eventjson): derived ids
// are base32 and need no escaping; a source's own id is escaped, each byte of invalid UTF-8 replaced with U+FFFD
// as the encoder does, so that _id and "id" are the same string.
func appendID(dst []byte, ev *engine.Event) []byte {
	if len(ev.ID) == 0 {
		return ev.AppendID(dst)
	}
	return appendEscaped(dst, ev.ID)
}

// maxIDBytes is Elasticsearch's limit on an _id, in UTF-8 bytes.
const maxIDBytes = 512

// idBytes is the length in UTF-8 bytes of a source's own id as appendID writes it, as Elasticsearch counts it:
// each byte of invalid UTF-8 becomes U+FFFD. It is 0 for a derived id (ev.ID empty), which is short.
func idBytes(ev *engine.Event) int {
	n := 0
	for i := 0; i < len(ev.ID); {
		r, size := utf8.DecodeRune(ev.ID[i:])
		if r == utf8.RuneError && size == 1 {
			n += len("\ufffd")
		} else {
			n += size
		}
		i += size
	}
	return n
}

const hexDigits = "0123456789abcdef"

// appendEscaped appends s as the inside of a JSON string.
func appendEscaped(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\ufffd"...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}
