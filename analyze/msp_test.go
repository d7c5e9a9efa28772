package analyze

import (
	"context"
	"errors"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
)

const mspFix = "../unpack/msi/testdata/transform/"

// TestPatchAlone: an MSP given as the installer is read without its target
// (msi.OpenPatchAlone): its cabinet's files are entries, the Run value and custom action it
// adds are its tables, and every change only the target places is a Skip. A transform given
// alone is ErrUnsupported.
func TestPatchAlone(t *testing.T) {
	inv, err := unsafeAnalyzer(t).Installer(context.Background(), mspFix+"acme-hotfix.msp")
	if err != nil {
		t.Fatalf("Installer = %v", err)
	}
	if inv.Format != "msp" || inv.Product.Identity != "msp-targets:{6D0C1B0A-3C10-4E4B-9A77-3CC0DE00A110}" {
		t.Errorf("Format, Product = %q, %+v", inv.Format, inv.Product)
	}
	var paths []string
	for _, e := range inv.Entries {
		paths = append(paths, e.Path)
	}
	sort.Strings(paths)
	if d := cmp.Diff([]string{inventory.InstallerPath, "Cabinet/#acmehf.cab/core.dll", "Cabinet/#acmehf.cab/hotfix.dll"}, paths); d != "" {
		t.Errorf("entries (-want +got)\n%s", d)
	}
	var skipped []string
	for _, s := range inv.Skipped {
		skipped = append(skipped, s.Path)
	}
	if d := cmp.Diff([]string{"File/core.dll", "File/hotfix.dll", "File/ffmpeg.dll"}, skipped); d != "" {
		t.Errorf("Skipped (-want +got)\n%s", d)
	}
	if d := cmp.Diff([]inventory.CustomAction{{Action: "HotfixCA", Type: 18, Source: "hotfix.dll", Target: "/install"}}, inv.CustomActions); d != "" {
		t.Errorf("CustomActions (-want +got)\n%s", d)
	}
	if len(inv.MSI.Registry) != 1 || inv.MSI.Registry[0].Name != "AcmeHotfix" {
		t.Errorf("Registry = %+v", inv.MSI.Registry)
	}
	if _, err := unsafeAnalyzer(t).Installer(context.Background(), mspFix+"acme-evil.mst"); !errors.Is(err, unpack.ErrUnsupported) {
		t.Errorf("Installer(transform) = %v, want ErrUnsupported", err)
	}
}
