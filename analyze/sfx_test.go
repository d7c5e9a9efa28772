package analyze

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/inventory"
)

// TestSelfExtractingCabinet inventories testdata/fixtures/win/sfx/acme-sfx.exe (the AcmeUpdate
// stub with a cabinet appended, testdata/gen/win/gen-sfx.sh): the cabinet's files land at
// their cabinet paths with the bytes gen-sfx.sh put in, the overlay is recorded under the
// stub, and the stub's version resource names the product (not the cabinet, not the file).
func TestSelfExtractingCabinet(t *testing.T) {
	const fix = "../testdata/fixtures/win/"
	sum := func(p string) string {
		b, err := os.ReadFile(fix + p)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(b)
		return hex.EncodeToString(h[:])
	}
	inv, err := unsafeAnalyzer(t).Installer(context.Background(), fix+"sfx/acme-sfx.exe")
	if err != nil {
		t.Fatalf("Installer(acme-sfx.exe) = %v", err)
	}
	type row struct {
		Path, SHA256, Container string
		Kind                    inventory.Kind
	}
	var got []row
	for _, e := range inv.Entries {
		r := row{Path: e.Path, Kind: e.Kind, Container: e.Container}
		if e.Path != inventory.InstallerPath && e.Kind != inventory.KindArchive {
			r.SHA256 = e.SHA256
		}
		got = append(got, r)
	}
	want := []row{
		{Path: inventory.InstallerPath, Kind: inventory.KindPE},
		{Path: inventory.InstallerPath + "/" + OverlayPath, Kind: inventory.KindArchive, Container: "cab"},
		{Path: "AcmePhone.exe", Kind: inventory.KindPE, SHA256: sum("pe/AcmePhone-1.1.exe")},
		{Path: "core.dll", Kind: inventory.KindPE, SHA256: sum("pe/core-1.1.dll")},
		{Path: "readme.txt", Kind: inventory.KindData,
			SHA256: hex.EncodeToString(func() []byte {
				h := sha256.Sum256([]byte("Acme Softphone 1.1.0: unpacked by AcmeUpdate.exe into the install folder.\r\n"))
				return h[:]
			}())},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("entries (-want +got)\n%s", d)
	}
	if inv.Format != "cab" {
		t.Errorf("Format = %q, want cab", inv.Format)
	}
	if d := cmp.Diff("pe-product:Acme Softphone Ltd/Acme Softphone", inv.Product.Identity); d != "" {
		t.Errorf("Product.Identity (-want +got)\n%s", d)
	}
	self, _ := inv.Lookup(inventory.InstallerPath)
	if self == nil || self.Overlay == nil || self.Overlay.Format != "cab" || self.Overlay.Offset != 15872 {
		t.Errorf("installer overlay = %+v, want a cab at 15872 (the stub's size)", self)
	}
}
