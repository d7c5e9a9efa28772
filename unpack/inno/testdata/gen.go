//go:build ignore

// gen writes the synthetic Inno Setup installers rollgate's tests use, all built by
// unpack/inno/innotest from this repository's own reading of the format (no conformance
// evidence: innoextract is the oracle on real installers, conformance_test.go):
//
//   - acme-synth-stored.exe, acme-synth-lzma.exe: innotest.Acme after a bare DOS header,
//     with stored and with LZMA-compressed header blocks (the contract test, FuzzReader);
//
//   - acme-5.1.0-inno.exe, acme-5.2.0-inno.exe: two releases after the unsigned AcmePhone
//     stub (testdata/fixtures/win/pe), for the gate's end-to-end test: 5.2.0 adds a Run
//     key, a [Run] entry and a Startup-folder shortcut.
//
//     cd unpack/inno/testdata && go run gen.go
package main

import (
	"log"
	"os"

	"github.com/rollgate/rollgate/unpack/inno/innotest"
)

func main() {
	stub, err := os.ReadFile("../../../testdata/fixtures/win/pe/AcmePhone-1.0.unsigned.exe")
	if err != nil {
		log.Fatal(err)
	}
	old := innotest.Acme()
	old.AppVersion = "5.1.0"
	old.Files = old.Files[:2]
	old.Registry = old.Registry[1:]
	old.Runs = nil
	old.Icons = old.Icons[1:]
	builds := []struct {
		name string
		s    *innotest.Synth
		stub []byte
	}{
		{"acme-synth-stored.exe", innotest.Acme(), nil},
		{"acme-synth-lzma.exe", func() *innotest.Synth { s := innotest.Acme(); s.Compressed = true; return s }(), nil},
		{"acme-5.1.0-inno.exe", old, stub},
		{"acme-5.2.0-inno.exe", innotest.Acme(), stub},
	}
	for _, b := range builds {
		out, err := b.s.Build(b.stub)
		if err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(b.name, out, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
