package apple

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack/pkg"
)

// FuzzMachOFacts checks that MachOFacts never panics (its recover would turn a panic into an
// error, so a panic-shaped error fails the fuzzer too) on mutated Mach-O files.
func FuzzMachOFacts(f *testing.F) {
	dir := testutil.Samples(f)
	for _, s := range []string{"macho/relic-fatfile-dummy", "macho/relic-slimfile-dummyapp"} {
		b, err := os.ReadFile(filepath.Join(dir, s))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
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
		e := &inventory.Entry{Path: "fuzz"}
		err := v.MachOFacts(e, bytes.NewReader(b), int64(len(b)))
		if err != nil && bytes.Contains([]byte(err.Error()), []byte("internal error")) {
			t.Fatalf("MachOFacts panicked: %v", err)
		}
	})
}
