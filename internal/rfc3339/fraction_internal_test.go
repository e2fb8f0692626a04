package rfc3339

import "testing"

// fractionByDigit is fraction one digit at a time.
func fractionByDigit(b []byte, i int) (nsec, digits, end int) {
	for ; i < len(b) && isDigit(b[i]); i++ {
		if digits < 9 {
			nsec = nsec*10 + int(b[i]-'0')
		}
		digits++
	}
	for d := digits; d < 9; d++ {
		nsec *= 10
	}
	return nsec, digits, i
}

// FuzzFraction: fraction, eight digits at a time, reads what a digit-by-digit loop reads, whatever follows the
// digits (bytes just below '0' and above '9', which a borrow or carry between bytes could confuse, are seeds).
func FuzzFraction(f *testing.F) {
	for _, s := range []string{
		"", "5", "123456Z stdout", "123456789Z", "1234567891234+01:00", "12345678", "1234567/", "1234567:",
		"000000001Z", "99999999 ", "9/9/9/9/9", "\xff12345678", "1\x002345678", "12345678\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for i := 0; i <= len(b) && i < 3; i++ {
			n, d, e := fraction(b, i)
			wn, wd, we := fractionByDigit(b, i)
			if n != wn || d != wd || e != we {
				t.Fatalf("%q from %d: %d, %d digits, end %d; digit by digit %d, %d, %d", b, i, n, d, e, wn, wd, we)
			}
		}
	})
}
