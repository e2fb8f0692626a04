package jsonscan

// membersHand is Members on the hand-written strict Scanner, for the benchmark only.
func membersHand(obj []byte, maxDepth int, fn func(name, value []byte) error, keyBuf *[]byte) error {
	s := Scanner{B: obj, Strict: true}
	s.WS()
	if s.Peek() != '{' {
		return ErrNotObject
	}
	s.I++
	s.depth = 1
	s.WS()
	if s.Peek() == '}' {
		s.I++
	} else {
		for {
			s.WS()
			if s.Peek() != '"' {
				return s.Fail("expected a key")
			}
			ks, ke, kesc, err := s.Str()
			if err != nil {
				return err
			}
			s.WS()
			if s.Peek() != ':' {
				return s.Fail("expected ':'")
			}
			s.I++
			s.WS()
			vs := s.I
			if err := s.Skip(); err != nil {
				return err
			}
			key := obj[ks:ke]
			if kesc {
				*keyBuf, _ = AppendUnescaped((*keyBuf)[:0], key)
				key = *keyBuf
			}
			if err := fn(key, obj[vs:s.I]); err != nil {
				return err
			}
			s.WS()
			if c := s.Peek(); c == ',' {
				s.I++
				continue
			} else if c == '}' {
				s.I++
				break
			}
			return s.Fail("expected ',' or '}'")
		}
	}
	s.WS()
	if s.I != len(obj) {
		return ErrNotObject
	}
	return nil
}
