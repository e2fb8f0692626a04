package listenaddr_test

import (
	"strings"
	"testing"

	"github.com/flickerlog/flicker/internal/listenaddr"
)

func TestCheck(t *testing.T) {
	for _, addr := range []string{":5514", "127.0.0.1:0", "localhost:65535", "[::1]:514"} {
		if err := listenaddr.Check(addr, ":5514"); err != nil {
			t.Errorf("%q: %v", addr, err)
		}
	}
	for _, c := range []struct{ addr, says string }{
		{"", `required: where to listen, such as ":5514"`},
		{"  ", "required"},
		{"localhost", "not host:port (missing port in address)"},
		{":syslog", `the port "syslog" must be a number`},
		{":65536", "from 0 to 65535"},
		{":-1", "from 0 to 65535"},
		{"a b:1", "not an IP address or a host name"},
		{"/tmp/sock:1", "not an IP address or a host name"},
	} {
		err := listenaddr.Check(c.addr, ":5514")
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%q: %v, want it to say %q", c.addr, err, c.says)
		}
	}
}
