package analyze

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
)

const burnFix = "../unpack/burn/testdata/"

// TestBurnBundle inventories the generated bundles (unpack/burn/testdata/gen): the payloads at
// their FilePath, the embedded MSI opened as an MSI with its tables merged into the bundle's,
// the ExePackage as a custom action, an external payload as a Skip, and the upgrade code as
// the product.
func TestBurnBundle(t *testing.T) {
	a := unsafeAnalyzer(t)
	inv, err := a.Installer(context.Background(), burnFix+"acme-bundle-1.1-exepackage.exe")
	if err != nil {
		t.Fatalf("Installer = %v", err)
	}
	if inv.Format != "burn" {
		t.Errorf("Format = %q, want burn", inv.Format)
	}
	wantProd := inventory.Product{Identity: "burn-bundle:{5b1c2d4e-7a8f-4c3b-9e1d-0a2b3c4d5e6f}", Name: "Acme Softphone",
		Version: "1.1.0.0", Manufacturer: "Acme Softphone Ltd", UpgradeCode: "{5B1C2D4E-7A8F-4C3B-9E1D-0A2B3C4D5E6F}",
		ProductCode: "{0F7E3B6C-2A1D-4B8E-9C5F-3D2E1A0B9C8D}"}
	if d := cmp.Diff(wantProd, inv.Product); d != "" {
		t.Errorf("Product (-want +got)\n%s", d)
	}
	kinds := map[string]string{}
	for _, e := range inv.Entries {
		kinds[e.Path] = string(e.Kind) + "/" + e.Container
	}
	for p, want := range map[string]string{
		inventory.InstallerPath:                     "pe/",
		inventory.InstallerPath + "/" + OverlayPath: "archive/burn",
		"(ux)/mbapreq.dll":                          "pe/",
		"AcmePhone.msi":                             "archive/msi",
		"redist/AcmeHelper.exe":                     "pe/",
	} {
		if kinds[p] != want {
			t.Errorf("entry %q = %q, want %q", p, kinds[p], want)
		}
	}
	var nested int
	for p := range kinds {
		if len(p) > len("AcmePhone.msi/") && p[:len("AcmePhone.msi/")] == "AcmePhone.msi/" {
			nested++
		}
	}
	if nested == 0 {
		t.Errorf("no file of the embedded MSI is inventoried: %v", kinds)
	}
	want := inventory.CustomAction{Action: "burn-ExePackage/AcmeHelper", Source: "redist/AcmeHelper.exe", Target: "/quiet /autostart"}
	found := false
	for _, ca := range inv.CustomActions {
		found = found || ca == want
	}
	if !found {
		t.Errorf("CustomActions = %+v, want one %+v", inv.CustomActions, want)
	}
	if inv.MSI == nil {
		t.Fatalf("MSI tables = nil, want the embedded MSI's")
	}

	// The Run value of the embedded MSI reaches the bundle's tables, also from a bundle
	// carried by the bundle as an ExePackage; the row id names the package it comes from.
	for file, id := range map[string]string{
		"acme-bundle-1.1-runkey.exe": "AcmePhone.msi/",
		"acme-bundle-1.1-nested.exe": "redist/AcmeRuntime.exe/AcmePhone.msi/",
	} {
		inv, err = a.Installer(context.Background(), burnFix+file)
		if err != nil {
			t.Fatalf("Installer(%s) = %v", file, err)
		}
		var run []string
		for _, v := range inv.MSI.Registry {
			if v.Key == `Software\Microsoft\Windows\CurrentVersion\Run` {
				run = append(run, v.ID)
			}
		}
		if len(run) != 1 || !strings.HasPrefix(run[0], id) {
			t.Errorf("%s: Run rows %q, want one with an id under %q", file, run, id)
		}
	}

	inv, err = a.Installer(context.Background(), burnFix+"acme-bundle-1.1-external.exe")
	if err != nil {
		t.Fatalf("Installer(external) = %v", err)
	}
	wantSkip := []inventory.Skip{{Path: "redist/AcmeHelper.exe", Reason: `Burn payload "AcmeHelper" is not in the bundle (external): its content was not inventoried`}}
	if d := cmp.Diff(wantSkip, inv.Skipped); d != "" {
		t.Errorf("Skipped (-want +got)\n%s", d)
	}
}

// TestBurnOverlay: a PE with a .wixburn section is a bundle whatever its sections say: the
// container area starts at the stub size the header gives, and a header that cannot be read
// is an error (analysis.incomplete), never a plain PE.
func TestBurnOverlay(t *testing.T) {
	b, err := os.ReadFile(burnFix + "acme-bundle-1.1.exe")
	if err != nil {
		t.Fatal(err)
	}
	o, err := burnOverlay(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("burnOverlay = %v", err)
	}
	if d := cmp.Diff(&inventory.Overlay{Offset: 3584, Size: int64(len(b)) - 3584, Format: "burn"}, o); d != "" {
		t.Errorf("overlay (-want +got)\n%s", d)
	}
	bad := append([]byte(nil), b...)
	copy(bad[0x600:], "\x00\x00\x00\x00") // the magic
	if _, err := burnOverlay(bytes.NewReader(bad), int64(len(bad))); !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("burnOverlay(bad magic) = %v, want ErrFormat", err)
	}
	cut := b[:3584]
	if _, err := burnOverlay(bytes.NewReader(cut), int64(len(cut))); !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("burnOverlay(stub only) = %v, want ErrFormat", err)
	}
}

// TestBurnPackageNames: an embedded MSI's custom actions are named by its package Id, not by
// the payload's file name (which carries the version in acme-bundle-1.1-renamed.exe), and the
// containers' compressed bytes are not scanned as the stub's strings.
func TestBurnPackageNames(t *testing.T) {
	a := unsafeAnalyzer(t)
	inv, err := a.Installer(context.Background(), burnFix+"acme-bundle-1.1-customaction.exe")
	if err != nil {
		t.Fatalf("Installer = %v", err)
	}
	var actions []string
	for _, ca := range inv.CustomActions {
		actions = append(actions, ca.Action)
	}
	if d := cmp.Diff([]string{"burn-MsiPackage/AcmePhone/AcmeRegister"}, actions); d != "" {
		t.Errorf("custom actions (-want +got)\n%s", d)
	}
	inv, err = a.Installer(context.Background(), burnFix+"acme-bundle-1.1-renamed.exe")
	if err != nil {
		t.Fatalf("Installer = %v", err)
	}
	self, _ := inv.Lookup(inventory.InstallerPath)
	if self == nil || len(self.Endpoints) != 0 {
		t.Errorf("installer endpoints = %v, want none (the stub has no URL; the MSI's are its own)", self)
	}
	if _, ok := inv.Lookup("AcmePhone-1.1.0.msi"); !ok {
		t.Errorf("no entry at the payload's FilePath AcmePhone-1.1.0.msi")
	}
}

// TestBurnMalformed: a bundle cut inside its UX container, or whose payload does not match the
// manifest's hash, is inconclusive, never an inventory that passes.
func TestBurnMalformed(t *testing.T) {
	b, err := os.ReadFile(burnFix + "acme-bundle-1.1.exe")
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), b...)
	flipped[len(flipped)-100] ^= 0xff // inside the attached container's last MSZIP block
	for name, data := range map[string][]byte{"cut.exe": b[:5000], "flipped.exe": flipped} {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := unsafeAnalyzer(t).Installer(context.Background(), p)
		if err == nil || !IsInconclusive(err) {
			t.Errorf("Installer(%s) = %v, want an inconclusive error", name, err)
		}
	}
}

// hideWixburn inserts before the .wixburn section header the crafted header of a review's
// proof of concept (a .bss whose sizes and address saferwall/pe counts as three anomalies,
// after which it lists no further section), shifting the later headers into the padding
// before the first section's data.
func hideWixburn(t *testing.T, b []byte) []byte {
	t.Helper()
	crafted, err := hex.DecodeString("2e6273730000000001000010000001100000000001000000000000000000000000000000800000c0")
	if err != nil {
		t.Fatal(err)
	}
	out := append([]byte(nil), b...)
	le := binary.LittleEndian
	nt := int(le.Uint32(out[0x3c:]))
	nsec := int(le.Uint16(out[nt+6:]))
	tab := nt + 24 + int(le.Uint16(out[nt+20:]))
	for i := 0; i < nsec; i++ {
		h := tab + 40*i
		if string(out[h:h+8]) != ".wixburn" {
			continue
		}
		end := tab + 40*nsec
		if !bytes.Equal(out[end:end+40], make([]byte, 40)) {
			t.Fatal("no room for one more section header")
		}
		copy(out[h+40:end+40], out[h:end])
		copy(out[h:], crafted)
		le.PutUint16(out[nt+6:], uint16(nsec+1))
		return out
	}
	t.Fatal("no .wixburn section")
	return nil
}

// TestBurnHiddenSection: a section header saferwall/pe stops at does not hide the .wixburn
// section after it: the bundle is still read as a bundle (its embedded MSI's Run value is
// found), never as a plain PE.
func TestBurnHiddenSection(t *testing.T) {
	b, err := os.ReadFile(burnFix + "acme-bundle-1.1-runkey.exe")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "hidden.exe")
	if err := os.WriteFile(p, hideWixburn(t, b), 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := peOverlay(p)
	if err != nil || o == nil || o.Format != "burn" {
		t.Fatalf("peOverlay = %+v, %v; want the burn overlay", o, err)
	}
	inv, err := unsafeAnalyzer(t).Installer(context.Background(), p)
	if err != nil {
		t.Fatalf("Installer = %v", err)
	}
	if inv.Format != "burn" {
		t.Errorf("Format = %q, want burn", inv.Format)
	}
	var run bool
	for _, r := range inv.MSI.Registry {
		run = run || strings.Contains(strings.ToLower(r.Key), `currentversion\run`)
	}
	if !run {
		t.Errorf("no Run value among the bundle's registry rows %+v", inv.MSI.Registry)
	}
}

// TestBurnPatches: what a chain changes an MSI with that rollgate does not read is a Skip
// (analysis.incomplete): an MsiProperty PATCH in any case, an MsiProperty TRANSFORMS naming a
// file that is not a payload of the package (TestBurnTransform has the one applied,
// TestBurnMSP the patches). A payload marked
// LayoutOnly that the chain references is installed all the same: missing, it is a Skip.
func TestBurnPatches(t *testing.T) {
	const (
		prop    = `<MsiProperty Id="ARPSYSTEMCOMPONENT" Value="1"/>`
		payload = `<Registration`
		mst     = `<Payload Id="Mst" FilePath="evil.mst" Packaging="embedded" SourcePath="a9" Container="WixAttachedContainer"/><Registration`
		msp     = `<Payload Id="Patch" FilePath="hotfix.msp" Packaging="embedded" SourcePath="a9" Container="WixAttachedContainer"/><Registration`
	)
	cfb := [2]string{"a9", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 not an MSI"}
	tests := []struct {
		name  string
		edit  func(string) string
		extra [][2]string
		want  []inventory.Skip
		ca    []inventory.CustomAction
	}{
		{"transforms", func(m string) string {
			m = strings.Replace(m, prop, prop+`<MsiProperty Id="TRANSFORMS" Value="evil.mst"/>`, 1)
			return strings.Replace(m, payload, mst, 1)
		}, [][2]string{cfb}, []inventory.Skip{{Path: "AcmePhone.msi",
			Reason: `Burn MsiPackage "AcmePhone" passes msiexec TRANSFORMS="evil.mst"; "evil.mst" is not a payload the bundle carries for the package, so what it changes was not inventoried`}}, nil},
		{"patch property, lower case", func(m string) string {
			return strings.Replace(m, prop, prop+`<MsiProperty Id="patch" Value="[WixBundleExecutePackageCacheFolder]x.msp"/>`, 1)
		}, nil, []inventory.Skip{{Path: "AcmePhone.msi",
			Reason: `Burn MsiPackage "AcmePhone" passes msiexec PATCH="[WixBundleExecutePackageCacheFolder]x.msp"; rollgate does not apply MSP patches, so what it changes was not inventoried`}}, nil},
		{"layout-only package payload", func(m string) string {
			return strings.Replace(m, `Packaging="embedded" SourcePath="a0" Container="WixAttachedContainer"`,
				`Packaging="download" DownloadUrl="https://evil.invalid/AcmePhone.msi" LayoutOnly="yes"`, 1)
		}, nil, []inventory.Skip{{Path: "AcmePhone.msi",
			Reason: `Burn payload "AcmePhone" is not in the bundle (download from https://evil.invalid/AcmePhone.msi): its content was not inventoried`}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := rebundle(t, "acme-bundle-1.1.exe", tt.edit, tt.extra...)
			inv, err := unsafeAnalyzer(t).Installer(context.Background(), p)
			if err != nil {
				t.Fatalf("Installer = %v", err)
			}
			if d := cmp.Diff(tt.want, inv.Skipped); d != "" {
				t.Errorf("Skipped (-want +got)\n%s", d)
			}
			var ca []inventory.CustomAction
			for _, c := range inv.CustomActions {
				if strings.HasPrefix(c.Action, "burn-MspPackage/") {
					ca = append(ca, c)
				}
			}
			if d := cmp.Diff(tt.ca, ca); d != "" {
				t.Errorf("MspPackage custom actions (-want +got)\n%s", d)
			}
		})
	}
}

// TestBurnTransform: an MsiPackage whose TRANSFORMS names a payload of the package is judged
// with the transform applied (unpack/msi/testdata/transform/acme-evil.mst): the Run value and
// custom actions it adds are the bundle's, the folder it renames moves the files, the
// transform's Binary stream is inventoried; the transform file itself is accounted for.
// A malformed transform is an error, never a pass.
func TestBurnTransform(t *testing.T) {
	inv, err := unsafeAnalyzer(t).Installer(context.Background(), burnFix+"acme-bundle-1.1-transform.exe")
	if err != nil {
		t.Fatalf("Installer = %v", err)
	}
	if len(inv.Skipped) != 0 {
		t.Errorf("Skipped = %+v, want none", inv.Skipped)
	}
	if d := cmp.Diff([]string{`Burn MsiPackage "AcmePhone" is judged with the transforms acme.mst applied (MsiProperty TRANSFORMS)`}, inv.Notes); d != "" {
		t.Errorf("Notes (-want +got)\n%s", d)
	}
	var cas []string
	for _, ca := range inv.CustomActions {
		cas = append(cas, ca.Action)
	}
	if d := cmp.Diff([]string{"burn-MsiPackage/AcmePhone/AcmeDll", "burn-MsiPackage/AcmePhone/AcmeDrop"}, cas); d != "" {
		t.Errorf("CustomActions (-want +got)\n%s", d)
	}
	var run []string
	for _, r := range inv.MSI.Registry {
		run = append(run, r.ID+" "+r.Key+" "+r.Value)
	}
	if d := cmp.Diff([]string{`AcmePhone.msi/AcmeRun Software\Microsoft\Windows\CurrentVersion\Run "ProgramFiles64Folder/Acme Phone/AcmePhone.exe" /background`}, run); d != "" {
		t.Errorf("Registry (-want +got)\n%s", d)
	}
	kinds := map[string]string{}
	for _, e := range inv.Entries {
		kinds[e.Path] = string(e.Kind) + "/" + e.Container
	}
	for p, want := range map[string]string{
		"AcmePhone.msi/ProgramFiles64Folder/Acme Phone/core.dll": "pe/",
		"AcmePhone.msi/Binary/AcmeDropDll":                       "pe/",
		"acme.mst":                                               "archive/mst",
	} {
		if kinds[p] != want {
			t.Errorf("entry %q = %q, want %q", p, kinds[p], want)
		}
	}

	mstPayload := regexp.MustCompile(`<Payload Id="AcmeMst"[^>]*>`)
	bad := rebundle(t, "acme-bundle-1.1-transform.exe", func(m string) string {
		return mstPayload.ReplaceAllString(m, `<Payload Id="AcmeMst" FilePath="acme.mst" Packaging="embedded" SourcePath="a9" Container="WixAttachedContainer"/>`)
	}, [2]string{"a9", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 not a transform"})
	if _, err := unsafeAnalyzer(t).Installer(context.Background(), bad); !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("malformed transform: Installer = %v, want ErrFormat", err)
	}
}

// TestBurnMSP: an MspPackage is applied to the MSI package of the bundle whose ProductCode it
// targets (unpack/msi/testdata/transform/acme-hotfix.msp on acme-1.1.msi): the Run value and
// custom action it adds are the bundle's, the file it adds and the one it replaces are
// inventoried at their install paths, its binary delta is a Skip; the MspPackage stays a
// custom action. A patch for no carried MSI is a Skip; a malformed one an error.
func TestBurnMSP(t *testing.T) {
	inv, err := unsafeAnalyzer(t).Installer(context.Background(), burnFix+"acme-bundle-1.1-msp.exe")
	if err != nil {
		t.Fatalf("Installer = %v", err)
	}
	const dir = "AcmePhone.msi/ProgramFiles64Folder/Acme Softphone/"
	wantSkip := []inventory.Skip{{Path: dir + "ffmpeg.dll",
		Reason: `Burn MspPackage "AcmeHotfix" patches file "ffmpeg.dll" by binary delta (Patch table), which rollgate does not apply: its patched content was not inventoried`}}
	if d := cmp.Diff(wantSkip, inv.Skipped); d != "" {
		t.Errorf("Skipped (-want +got)\n%s", d)
	}
	var cas []string
	for _, ca := range inv.CustomActions {
		cas = append(cas, ca.Action)
	}
	if d := cmp.Diff([]string{"burn-MsiPackage/AcmePhone/HotfixCA", "burn-MspPackage/AcmeHotfix"}, cas); d != "" {
		t.Errorf("CustomActions (-want +got)\n%s", d)
	}
	var run []string
	for _, r := range inv.MSI.Registry {
		run = append(run, r.ID+" "+r.Value)
	}
	if d := cmp.Diff([]string{`AcmePhone.msi/HotfixRun "ProgramFiles64Folder/Acme Softphone/hotfix.dll"`}, run); d != "" {
		t.Errorf("Registry (-want +got)\n%s", d)
	}
	sum := func(p string) string {
		s := sha256.Sum256(readTestFile(t, p))
		return hex.EncodeToString(s[:])
	}
	got := map[string]string{}
	for _, e := range inv.Entries {
		got[e.Path] = e.Container + " " + e.SHA256
	}
	for p, want := range map[string]string{
		dir + "hotfix.dll": " " + sum("../testdata/fixtures/win/pe/acmeplugin.dll"),
		dir + "core.dll":   " " + sum("../testdata/fixtures/win/pe/acmeplugin.unsigned.dll"),
		"hotfix.msp":       "msp " + sum("../unpack/msi/testdata/transform/acme-hotfix.msp"),
	} {
		if got[p] != want {
			t.Errorf("entry %q = %q, want %q", p, got[p], want)
		}
	}

	const msp = `<Payload Id="Patch" FilePath="hotfix.msp" Packaging="embedded" SourcePath="a9" Container="WixAttachedContainer"/><Registration`
	addMsp := func(m string) string {
		m = strings.Replace(m, `</Chain>`, `<MspPackage Id="Patch" PatchCode="{7D3F2B1A-4C5E-4F60-8A9B-0C1D2E3F4A5B}" PerMachine="yes" Vital="yes"><PayloadRef Id="Patch"/></MspPackage></Chain>`, 1)
		return strings.Replace(m, `<Registration`, msp, 1)
	}
	other := rebundle(t, "acme-bundle-1.0.exe", addMsp, [2]string{"a9", string(readTestFile(t, "../unpack/msi/testdata/transform/acme-hotfix.msp"))})
	inv, err = unsafeAnalyzer(t).Installer(context.Background(), other)
	if err != nil {
		t.Fatalf("Installer(patch for another product) = %v", err)
	}
	wantSkip = []inventory.Skip{{Path: "hotfix.msp",
		Reason: `Burn MspPackage "Patch" applies to no MSI package the bundle carries (matched by ProductCode), so what it changes was not inventoried`}}
	if d := cmp.Diff(wantSkip, inv.Skipped); d != "" {
		t.Errorf("patch for another product: Skipped (-want +got)\n%s", d)
	}
	bad := rebundle(t, "acme-bundle-1.0.exe", addMsp, [2]string{"a9", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 not a patch"})
	if _, err := unsafeAnalyzer(t).Installer(context.Background(), bad); !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("malformed patch: Installer = %v, want ErrFormat", err)
	}
}

func readTestFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBurnTransformsValue: how an MsiProperty TRANSFORMS value names the package's payloads:
// the cache folder variable and case do not matter; an item the package does not carry, an
// embedded (":name") transform or a value set at run time leaves the package a Skip.
func TestBurnTransformsValue(t *testing.T) {
	tests := []struct {
		value string
		skip  bool
	}{
		{"[WixBundleExecutePackageCacheFolder]ACME.MST", false},
		{"@acme.mst", false},
		{"acme.mst;missing.mst", true},
		{":embedded", true},
		{"[ACMEMST]", true},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			p := rebundle(t, "acme-bundle-1.1-transform.exe", func(m string) string {
				return strings.Replace(m, `<MsiProperty Id="TRANSFORMS" Value="acme.mst"/>`, `<MsiProperty Id="TRANSFORMS" Value="`+tt.value+`"/>`, 1)
			})
			inv, err := unsafeAnalyzer(t).Installer(context.Background(), p)
			if err != nil {
				t.Fatalf("Installer = %v", err)
			}
			var skipped bool
			for _, s := range inv.Skipped {
				skipped = skipped || s.Path == "AcmePhone.msi" && strings.Contains(s.Reason, "TRANSFORMS=")
			}
			var applied bool
			for _, ca := range inv.CustomActions {
				applied = applied || ca.Action == "burn-MsiPackage/AcmePhone/AcmeDrop"
			}
			if skipped != tt.skip || applied == tt.skip {
				t.Errorf("skipped %v, transform applied %v; want skipped %v (Skipped %+v)", skipped, applied, tt.skip, inv.Skipped)
			}
		})
	}
}
