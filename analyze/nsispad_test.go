package analyze

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack/nsis"
)

// TestNSISFirstHeaderNotAtOverlay: NSIS's stub finds its firstheader at any 512-byte boundary
// of its file. With padding between the sections' end and the firstheader, the installer must
// still be read as NSIS, its gfxcomp_47.dll inventoried, not passed as a bare PE.
func TestNSISFirstHeaderNotAtOverlay(t *testing.T) {
	orig, err := os.ReadFile("../unpack/nsis/testdata/acme-5.1.0-setup.exe")
	if err != nil {
		t.Fatal(err)
	}
	off, ok := nsis.FindFirstHeader(bytes.NewReader(orig), int64(len(orig)))
	if !ok {
		t.Fatal("fixture has no firstheader")
	}
	padded := slices.Concat(orig[:off], make([]byte, 3*512), orig[off:])
	p := filepath.Join(t.TempDir(), "padded-setup.exe")
	if err := os.WriteFile(p, padded, 0o644); err != nil {
		t.Fatal(err)
	}
	inv, err := unsafeAnalyzer(t).Installer(context.Background(), p)
	if err != nil {
		t.Fatalf("Installer(padded) = %v", err)
	}
	if inv.Format != "nsis" {
		t.Errorf("Format = %q, want nsis", inv.Format)
	}
	if !slices.ContainsFunc(inv.Entries, func(e inventory.Entry) bool { return e.Path == "INSTDIR/bin/gfxcomp_47.dll" }) {
		var paths []string
		for _, e := range inv.Entries {
			paths = append(paths, e.Path)
		}
		t.Errorf("entries %v, want INSTDIR/bin/gfxcomp_47.dll read from the padded installer", paths)
	}
}
