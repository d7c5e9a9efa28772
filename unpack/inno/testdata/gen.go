//go:build ignore

// gen writes the synthetic Inno Setup installers the contract test and FuzzReader use
// (unpack/inno/innotest's Acme, with stored and with LZMA-compressed header blocks). They
// are built from this repository's own reading of the format and are no conformance
// evidence; innoextract is the oracle on real installers (conformance_test.go).
//
//	cd unpack/inno/testdata && go run gen.go
package main

import (
	"log"
	"os"

	"github.com/rollgate/rollgate/unpack/inno/innotest"
)

func main() {
	for name, compressed := range map[string]bool{"acme-synth-stored.exe": false, "acme-synth-lzma.exe": true} {
		s := innotest.Acme()
		s.Compressed = compressed
		b, err := s.Build(nil)
		if err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(name, b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
