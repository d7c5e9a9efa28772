package apple

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack/pkg"
)

// FuzzMachOFacts checks that MachOFacts never panics (its recover would turn a panic into an
// error, so a panic-shaped error fails the fuzzer too) on mutated Mach-O files. The seeds are
// the fixture's own main executable and dylib (60 KiB, signed by the test CA); relic's
// samples are conformance inputs (TestMachOSamples), not seeds the mutator must shrink.
// FuzzSuperBlob fuzzes the signature parser alone.
func FuzzMachOFacts(f *testing.F) {
	pf, err := os.Open(filepath.Join(fixtureDir(f), "acme-mac-1.1-entitlement.pkg"))
	if err != nil {
		f.Fatal(err)
	}
	defer pf.Close()
	st, _ := pf.Stat()
	pr, err := pkg.NewReader(pf, st.Size())
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range []string{mainPath, dylibPath} {
		g, err := pr.Open(p)
		if err != nil {
			f.Fatal(err)
		}
		b, _ := io.ReadAll(g)
		g.Close()
		f.Add(b)
	}
	v := testVerifier(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzInput {
			return
		}
		e := &inventory.Entry{Path: "fuzz"}
		err := v.MachOFacts(e, bytes.NewReader(b), int64(len(b)))
		if err != nil && bytes.Contains([]byte(err.Error()), []byte("internal error")) {
			t.Fatalf("MachOFacts panicked: %v", err)
		}
	})
}

// FuzzSuperBlob fuzzes the embedded-signature parser alone: parseSuperBlob and the
// CodeDirectories, special slots and entitlements it returns never panic, whatever the blob.
// The seed is the fixture main executable's SuperBlob (13 KiB, mostly the CMS signature).
func FuzzSuperBlob(f *testing.F) {
	f.Add(superBlobSeed(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzInput {
			return
		}
		sb, err := parseSuperBlob(b)
		if err != nil {
			return
		}
		for _, cd := range sb.dirs {
			for n := uint32(1); n <= min(cd.nSpecial, 16); n++ {
				if h := cd.special(n); len(h) != cd.hashSize {
					t.Fatalf("special slot %d: %d-byte hash, want %d", n, len(h), cd.hashSize)
				}
			}
		}
		trueEntitlements(sb.entitlements)
	})
}

// maxFuzzInput caps the Mach-O fuzzers' inputs: larger ones only make each execution slower.
const maxFuzzInput = 128 << 10

// superBlobSeed is FuzzSuperBlob's seed: the SuperBlob of the fixture's signed main
// executable.
func superBlobSeed(t testing.TB) []byte {
	b := signedMain(t)
	off, n := codeSignature(t, b)
	return b[off : off+n]
}
