package syslog

import (
	"bytes"
)

// bom is the UTF-8 byte order mark an RFC 5424 MSG may start with.
var bom = []byte{0xEF, 0xBB, 0xBF}

// parse5424 parses an RFC 5424 message:
//
//	<PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA [SP MSG]
//
// Header fields are taken as any run of printable bytes, whatever their length: a receiver gains nothing by
// refusing a 49-byte APP-NAME. The time is RFC 3339 with any number of fraction digits.
func (p *Parser) parse5424(b []byte, m *Message) error {
	pri, i, err := parsePRI(b, name5424)
	if err != nil {
		return err
	}
	m.Priority = pri
	j := i
	for j < len(b) && j-i < 3 && isDigit(b[j]) {
		j++
	}
	if j == i || b[i] == '0' {
		return &parseError{name5424, i, "want the version (1) after the priority"}
	}
	if j >= len(b) || b[j] != ' ' {
		return &parseError{name5424, j, "want a space after the version"}
	}
	i = j + 1

	var tok []byte
	if tok, i, err = header(b, i, "want the timestamp or -"); err != nil {
		return err
	}
	if !nil5424(tok) {
		t, err := p.stamps.Parse(tok)
		if err != nil {
			return &parseError{name5424, i - len(tok) - 1, "want an RFC 3339 timestamp (" + err.Error() + ")"}
		}
		m.Time = t
	}
	if m.Hostname, i, err = header(b, i, "want the hostname or -"); err != nil {
		return err
	}
	if m.AppName, i, err = header(b, i, "want the app-name or -"); err != nil {
		return err
	}
	if m.ProcID, i, err = header(b, i, "want the procid or -"); err != nil {
		return err
	}
	if m.MsgID, i, err = header(b, i, "want the msgid or -"); err != nil {
		return err
	}
	m.Hostname, m.AppName, m.ProcID, m.MsgID = orNil(m.Hostname), orNil(m.AppName), orNil(m.ProcID), orNil(m.MsgID)

	switch {
	case i >= len(b):
		return &parseError{name5424, i, "want structured data or -"}
	case b[i] == '-':
		i++
	case b[i] == '[':
		if i, err = m.parseSD(b, i); err != nil {
			return err
		}
	default:
		return &parseError{name5424, i, "want structured data ([...]) or -"}
	}
	switch {
	case i == len(b):
	case b[i] == ' ':
		m.Msg = bytes.TrimPrefix(b[i+1:], bom)
	default:
		return &parseError{name5424, i, "want a space before the message"}
	}
	if m.Msg == nil {
		m.Msg = b[len(b):]
	}
	return nil
}

// header reads one space-terminated header field at b[i:]: the field and the index after its space.
func header(b []byte, i int, want string) ([]byte, int, error) {
	j := i
	for j < len(b) && b[j] > ' ' && b[j] < 0x7f {
		j++
	}
	if j == i || j >= len(b) || b[j] != ' ' {
		return nil, j, &parseError{name5424, j, want + " followed by a space"}
	}
	return b[i:j], j + 1, nil
}

func nil5424(tok []byte) bool { return len(tok) == 1 && tok[0] == '-' }

func orNil(tok []byte) []byte {
	if nil5424(tok) {
		return nil
	}
	return tok
}

// parseSD reads the SD-ELEMENTs starting at b[i] ('['), appending their parameters to m.sd, and returns the
// index after the last ']'. Beyond maxSDParams entries it only checks the syntax and keeps the whole text in
// m.sdRaw: thousands of tiny elements ("[a][a]...") cost no more than their bytes.
//
//	SD-ELEMENT = "[" SD-ID *(SP PARAM-NAME "=" %d34 PARAM-VALUE %d34) "]"
func (m *Message) parseSD(b []byte, i int) (int, error) {
	sdStart := i
	add := func(p sdParam) {
		if len(m.sd) < maxSDParams {
			m.sd = append(m.sd, p)
		} else {
			m.sdOver = true
		}
	}
	for i < len(b) && b[i] == '[' {
		i++
		id, j := sdName(b, i)
		if len(id) == 0 {
			return j, &parseError{name5424, j, "want an SD-ID after '['"}
		}
		i = j
		params := 0
		for i < len(b) && b[i] == ' ' {
			i++
			name, j := sdName(b, i)
			if len(name) == 0 {
				return j, &parseError{name5424, j, "want a PARAM-NAME"}
			}
			if j+1 >= len(b) || b[j] != '=' || b[j+1] != '"' {
				return j, &parseError{name5424, j, `want ="value" after the PARAM-NAME`}
			}
			i = j + 2
			start, esc := i, false
			for i < len(b) && b[i] != '"' {
				if b[i] == '\\' && i+1 < len(b) {
					esc = true
					i++
				}
				i++
			}
			if i >= len(b) {
				return i, &parseError{name5424, start, "want the '\"' closing the PARAM-VALUE"}
			}
			add(sdParam{id: id, name: name, value: b[start:i], esc: esc})
			params++
			i++
		}
		if i >= len(b) || b[i] != ']' {
			return i, &parseError{name5424, i, "want ']' closing the SD-ELEMENT"}
		}
		if params == 0 {
			add(sdParam{id: id})
		}
		i++
	}
	if m.sdOver {
		m.sd, m.sdRaw = m.sd[:0], b[sdStart:i]
	}
	return i, nil
}

// sdName reads an SD-NAME at b[i:]: printable US-ASCII except '=', SP, ']' and '"'.
func sdName(b []byte, i int) ([]byte, int) {
	j := i
	for j < len(b) {
		c := b[j]
		if c <= ' ' || c >= 0x7f || c == '=' || c == ']' || c == '"' {
			break
		}
		j++
	}
	return b[i:j], j
}

// unescapeSD appends a PARAM-VALUE with its escapes (\" \\ \]) resolved; a backslash before any other byte is
// kept, as RFC 5424 section 6.3.3 says.
func unescapeSD(dst, v []byte) []byte {
	for {
		k := bytes.IndexByte(v, '\\')
		if k < 0 || k+1 >= len(v) {
			return append(dst, v...)
		}
		dst = append(dst, v[:k]...)
		switch c := v[k+1]; c {
		case '"', '\\', ']':
			dst = append(dst, c)
		default:
			dst = append(dst, '\\', c)
		}
		v = v[k+2:]
	}
}
