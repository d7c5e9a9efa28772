package rules

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rollgate/rollgate/inventory"
)

func analyzeFixture(t *testing.T, rel string) *inventory.Inventory {
	t.Helper()
	inv, err := fixtureAnalyzer(t).Installer(context.Background(), filepath.Join(winFixtures, rel))
	if err != nil {
		t.Fatalf("Installer(%s) = %v", rel, err)
	}
	return inv
}

// TestMSITableFixtures: each gen-msitables.sh fixture, verified against acme-1.0.msi, raises
// its rule at the gate's default (high) where the contract says high; the benign acme-1.1.msi
// raises nothing at or above medium.
func TestMSITableFixtures(t *testing.T) {
	base := analyzeFixture(t, "acme-1.0.msi")
	tests := []struct {
		file string
		want hit
	}{
		{"msitables/acme-1.1-runkey.msi", hit{MSIAutostartAdded, High, `Registry/HKLM\Software\Microsoft\Windows\CurrentVersion\Run\AcmeUpdater`}},
		{"msitables/acme-1.1-service.msi", hit{MSIServiceAdded, High, "Service/AcmeUpdateSvc"}},
		{"msitables/acme-1.1-duplicate.msi", hit{SideloadSystemName, High, "ProgramFiles64Folder/Acme Softphone/version.dll"}},
		{"msitables/acme-1.1-orphan.msi", hit{MSIOrphanCode, Medium, "(orphan-stream)/AcmeUpdate.dat"}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			cand := analyzeFixture(t, tt.file)
			got := hits(Static(base, cand))
			found := false
			for _, h := range got {
				found = found || h == tt.want
			}
			if !found {
				t.Errorf("findings = %v, want %v among them", got, tt.want)
			}
		})
	}
	t.Run("acme-1.1.msi", func(t *testing.T) {
		cand := analyzeFixture(t, "acme-1.1.msi")
		for _, f := range Static(base, cand) {
			if f.Severity >= Medium {
				t.Errorf("benign update: %s %s %s", f.Severity, f.Rule, f.Path)
			}
		}
	})
}

// TestDuplicateFileCopy: the copy DuplicateFile makes is an inventory entry at its
// destination with the source's facts and a note of its source.
func TestDuplicateFileCopy(t *testing.T) {
	inv := analyzeFixture(t, "msitables/acme-1.1-duplicate.msi")
	src, ok1 := inv.Lookup("ProgramFiles64Folder/Acme Softphone/plugins/evil.dll")
	dst, ok2 := inv.Lookup("ProgramFiles64Folder/Acme Softphone/version.dll")
	if !ok1 || !ok2 {
		t.Fatalf("Lookup(evil.dll) = %v, Lookup(version.dll) = %v; want both", ok1, ok2)
	}
	if dst.CopyOf != src.Path || dst.SHA256 != src.SHA256 || dst.Kind != inventory.KindPE || dst.Version != src.Version {
		t.Errorf("copy = %+v; want the facts of %+v and CopyOf %q", dst, src, src.Path)
	}
}
