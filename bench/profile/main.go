// Command profile inventories one installer the way `rollgate inspect` does (without
// signature verification) and writes a CPU profile, to find where inspect spends its time:
//
//	go run ./bench/profile -cpuprofile cpu.prof INSTALLER
//	go tool pprof -top cpu.prof
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/rollgate/rollgate/gate"
)

func main() {
	out := flag.String("cpuprofile", "cpu.prof", "CPU profile file")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: profile [-cpuprofile FILE] INSTALLER")
		os.Exit(2)
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The profile is of the whole pipeline the CLI runs, signatures included.
	a, err := gate.NewAnalyzer(gate.Trust{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	start := time.Now()
	inv, err := a.Installer(context.Background(), flag.Arg(0))
	pprof.StopCPUProfile()
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "%d entries in %v\n", len(inv.Entries), time.Since(start))
}
