package rules

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/inventory"
)

// TestStaticWindowsPathAliases: Windows paths are case-insensitive, so a candidate that only
// re-cases its install folder ("Acme Softphone" → "ACME SOFTPHONE") installs over the same
// files; its trojanised ffmpeg.dll must still be compared with the baseline's ffmpeg.dll.
func TestStaticWindowsPathAliases(t *testing.T) {
	base := inv(pe("ProgramFiles64Folder/Acme Softphone/ffmpeg.dll", "f1", "4.4.0.0", vendor))
	cand := inv(pe("ProgramFiles64Folder/ACME SOFTPHONE/ffmpeg.dll", "f2", "4.4.0.0", vendor))
	got := ruleSet(Static(base, cand))
	if !slices.Contains(got, ContentChangedSameVer) {
		t.Errorf("Static(re-cased folder, new hash, same version) = %v, want %s", got, ContentChangedSameVer)
	}
}

// TestStaticUnversionedCodeChanged: a DLL without VERSIONINFO carries no version claim, so
// a content change is file.changed (info), not content.changed-same-version: firing high on
// every rebuilt unversioned helper DLL would fail routine updates. Its signature rules and
// endpoint/import rules still apply.
func TestStaticUnversionedCodeChanged(t *testing.T) {
	base := inv(pe("ProgramFiles64Folder/Acme/ffmpeg.dll", "f1", "", vendor))
	cand := inv(pe("ProgramFiles64Folder/Acme/ffmpeg.dll", "f2", "", vendor))
	got := ruleSet(Static(base, cand))
	if !slices.Equal(got, []string{FileChanged}) {
		t.Errorf("Static(unversioned PE, new hash) = %v, want [%s]", got, FileChanged)
	}
}

// TestStaticBarePEInstaller: when the installer is a bare PE (Format "pe"), it is the code: a
// trojanised rebuild with the same version and signer must trip content.changed-same-version
// and pe.import-added like any shipped file. Today changed() returns early for
// InstallerPath and the gate passes.
func TestStaticBarePEInstaller(t *testing.T) {
	base := inv(pe(inventory.InstallerPath, "f1", "4.4.0.0", vendor, "kernel32.dll"))
	base.Format = "pe"
	cand := inv(pe(inventory.InstallerPath, "f2", "4.4.0.0", vendor, "kernel32.dll", "wininet.dll"))
	cand.Format = "pe"
	got := ruleSet(Static(base, cand))
	for _, want := range []string{ContentChangedSameVer, PEImportAdded} {
		if !slices.Contains(got, want) {
			t.Errorf("Static(bare PE installer, new hash, same version) = %v, want %s", got, want)
		}
	}
}

// TestStaticLauncherStub: a launcher carrying a container (an InstallShield setup.exe keeps
// the engine's version from release to release) is judged by the stub before its overlay: a
// new payload at the same version is no finding, a changed stub at the same version is.
func TestStaticLauncherStub(t *testing.T) {
	launcher := func(sha, stub string) *inventory.Inventory {
		e := pe(inventory.InstallerPath, sha, "11.0.0.28844", vendor)
		e.Overlay = &inventory.Overlay{Offset: 4096, Size: 1 << 20, Format: "ishield", StubSHA256: stub}
		i := inv(e, inventory.Entry{Path: inventory.InstallerPath + "/" + "(overlay)", Kind: inventory.KindArchive, Container: "ishield"},
			pe("AcmePhone.msi/ProgramFiles64Folder/Acme/core.dll", "c1", "1.0.0.0", vendor))
		i.Format = "ishield"
		return i
	}
	tests := []struct {
		name       string
		base, cand *inventory.Inventory
		want       []string
	}{
		{"new payload, same stub", launcher("f1", "s1"), launcher("f2", "s1"), []string{FileChanged}},
		{"new payload, changed stub", launcher("f1", "s1"), launcher("f2", "s2"), []string{ContentChangedSameVer, FileChanged}},
		{"baseline without a stub digest", launcher("f1", ""), launcher("f2", "s1"), []string{ContentChangedSameVer, FileChanged}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, ruleSet(Static(tt.base, tt.cand))); d != "" {
				t.Errorf("Static (-want +got)\n%s", d)
			}
		})
	}
}
