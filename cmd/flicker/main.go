// Command flicker ships logs and remembers where it left off. See README.md and flicker --help.
package main

import (
	"os"
)

func main() {
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}
