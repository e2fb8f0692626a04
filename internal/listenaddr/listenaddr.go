// Package listenaddr checks the address a listening source is configured with, the same way for every such
// source (http_sources, syslog_sources).
package listenaddr

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Check refuses what net.Listen would: a missing or out-of-range port, a host that is not an address or a name.
// The host may be empty (every interface). example is a port the messages show (":5514").
func Check(addr, example string) error {
	if strings.TrimSpace(addr) == "" {
		return fmt.Errorf("required: where to listen, such as %q or \"127.0.0.1%s\"", example, example)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		var ae *net.AddrError
		why := err.Error()
		if errors.As(err, &ae) {
			why = ae.Err
		}
		return fmt.Errorf("%q is not host:port (%s): write it as %q or \"127.0.0.1%s\"", addr, why, example, example)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("%q: the port %q must be a number from 0 to 65535", addr, port)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("%q: the host %q is not an IP address or a host name", addr, host)
	}
	return nil
}
