// Command rollgate decides whether an installer update may roll out. See DESIGN.md for the
// contracts (CLI, exit codes, report JSON, finding rules).
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
