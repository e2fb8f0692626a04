package fielderr_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/flickerlog/flicker/internal/fielderr"
)

// paths lists the path and text of every field error in err, joined errors flattened.
func paths(err error) []string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, paths(e)...)
		}
		return out
	}
	var fe *fielderr.Error
	if !errors.As(err, &fe) {
		return []string{"(no path): " + err.Error()}
	}
	return []string{fe.Path + ": " + fe.Err.Error()}
}

// emptyJoin is an error whose Unwrap() []error returns nothing.
type emptyJoin struct{}

func (emptyJoin) Error() string   { return "something failed" }
func (emptyJoin) Unwrap() []error { return nil }

func TestPrefix(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want []string
	}{
		{"nil", nil, nil},
		{"field error", fielderr.New("cert_file", "missing"), []string{"tls.cert_file: missing"}},
		{"plain error", errors.New("bad"), []string{"tls: bad"}},
		{"nested join", fielderr.Join(fielderr.New("a", "one"),
			fielderr.Join(fielderr.New("b", "two"), errors.New("three"))),
			[]string{"tls.a: one", "tls.b: two", "tls: three"}},
		// The wrapping context is part of the message: it is not dropped for the inner field's path.
		{"field error wrapped by fmt.Errorf", fmt.Errorf("reading the files: %w", fielderr.New("cert_file", "missing")),
			[]string{"tls: reading the files: cert_file: missing"}},
		// An error that unwraps to no errors is still an error.
		{"empty Unwrap() []error", emptyJoin{}, []string{"tls: something failed"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := fielderr.Prefix("tls", c.err)
			if c.want == nil {
				if got != nil {
					t.Fatalf("Prefix = %v, want nil", got)
				}
				return
			}
			if got == nil {
				t.Fatalf("Prefix = nil, want %q", c.want)
			}
			if p := paths(got); !slices.Equal(p, c.want) {
				t.Fatalf("Prefix = %q, want %q", p, c.want)
			}
		})
	}
}
