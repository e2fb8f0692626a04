package processors

import "fmt"

// logfmt parses key=value pairs: `level=info msg="user \"bob\" logged in" took=12ms retry`. Values are bare
// (up to the next space) or double-quoted, with \" \\ \n \r \t escapes; every value is a string; `key=` is the
// empty string; a bare key is true. An unterminated quote, a quote inside a key or bare value, or an empty key
// is an error.
type logfmt struct {
	keys keyCache
}

// NewLogfmt returns the logfmt parser.
func NewLogfmt() Parser { return &logfmt{} }

func (l *logfmt) Parse(val []byte, out Setter) error {
	var bp *[]byte // an escaped value's buffer, taken on first need
	defer func() {
		if bp != nil {
			appendBufPool.Put(bp)
		}
	}()
	i := 0
	for {
		for i < len(val) && (val[i] == ' ' || val[i] == '\t') {
			i++
		}
		if i == len(val) {
			return nil
		}
		start := i
		for i < len(val) && val[i] != '=' && val[i] != ' ' && val[i] != '\t' {
			if val[i] == '"' {
				return fmt.Errorf("quote in a key at byte %d", i)
			}
			i++
		}
		if i == start {
			return fmt.Errorf("empty key at byte %d", i)
		}
		key := l.keys.get(val[start:i])
		if i == len(val) || val[i] != '=' {
			out.SetRaw(key, jsonTrue)
			continue
		}
		i++ // '='
		if i < len(val) && val[i] == '"' {
			open := i
			i++
			escaped := false
			for i < len(val) && val[i] != '"' {
				if val[i] == '\\' {
					escaped = true
					i++
				}
				i++
			}
			if i >= len(val) {
				return fmt.Errorf("%s: quote opened at byte %d is not closed", key, open)
			}
			v := val[open+1 : i]
			i++ // closing quote
			if i < len(val) && val[i] != ' ' && val[i] != '\t' {
				return fmt.Errorf("%s: text right after the closing quote at byte %d: want a space", key, i)
			}
			if escaped {
				if bp == nil {
					bp = appendBufPool.Get().(*[]byte)
				}
				*bp = unescapeLogfmt((*bp)[:0], v)
				v = *bp
			}
			out.SetString(key, v)
			continue
		}
		vstart := i
		for i < len(val) && val[i] != ' ' && val[i] != '\t' {
			if val[i] == '"' {
				return fmt.Errorf("%s: quote inside an unquoted value at byte %d", key, i)
			}
			i++
		}
		out.SetString(key, val[vstart:i])
	}
}

func unescapeLogfmt(dst, v []byte) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\\' || i+1 == len(v) {
			dst = append(dst, c)
			continue
		}
		i++
		switch v[i] {
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case '"', '\\':
			dst = append(dst, v[i])
		default: // not an escape logfmt writers produce: keep it as written
			dst = append(dst, '\\', v[i])
		}
	}
	return dst
}
