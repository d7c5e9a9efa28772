// Command nsiswalk walks an NSIS installer with package nsis the way the inventory does: every
// file streamed once through SHA-256. bench/nsis.sh times it against `7zz t`.
//
//	go run ./unpack/nsis/internal/nsiswalk INSTALLER
package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"

	"github.com/rollgate/rollgate/unpack/nsis"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: nsiswalk INSTALLER")
		os.Exit(2)
	}
	r, err := nsis.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "nsiswalk:", err)
		os.Exit(1)
	}
	defer r.Close()
	var files, bytes int64
	err = r.Reader.Walk(func(p string, size int64, rd io.Reader) error {
		h := sha256.New()
		n, err := io.Copy(h, rd)
		files++
		bytes += n
		return err
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "nsiswalk:", err)
		os.Exit(1)
	}
	fmt.Printf("%d files, %d bytes (%v, solid %v)\n", files, bytes, r.Reader.Method, r.Reader.Solid)
}
