package rules

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/analyze"
	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/verify/apple"
	"github.com/rollgate/rollgate/verify/authenticode"
)

const winFixtures = "../testdata/fixtures/win/"

// fixtureAnalyzer is configured like gate.NewAnalyzer with the fixture test CA as
// the extra trusted root.
func fixtureAnalyzer(t *testing.T) *analyze.Analyzer {
	t.Helper()
	roots, err := authenticode.LoadPEM(winFixtures + "ca/root.pem")
	if err != nil {
		t.Fatal(err)
	}
	v, err := authenticode.NewVerifier(authenticode.Options{ExtraRoots: roots})
	if err != nil {
		t.Fatal(err)
	}
	av, err := apple.NewVerifier(apple.Options{ExtraRoots: roots})
	if err != nil {
		t.Fatal(err)
	}
	a, err := analyze.New(analyze.Options{Verifier: v, MSIVerifier: v, AppleVerifier: av,
		Formats: analyze.DefaultFormats(), PostPasses: []analyze.PostPass{apple.Bundles}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

var (
	fixtureMu   sync.Mutex
	fixtureInvs = map[string]*inventory.Inventory{}
)

// fixtureInventory analyses a Windows fixture once per test binary.
func fixtureInventory(t *testing.T, name string) *inventory.Inventory {
	t.Helper()
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	if inv, ok := fixtureInvs[name]; ok {
		return inv
	}
	inv, err := fixtureAnalyzer(t).Installer(context.Background(), winFixtures+name)
	if err != nil {
		t.Fatalf("analysing %s: %v", name, err)
	}
	fixtureInvs[name] = inv
	return inv
}

// gating lists the rules of the findings at or above high, and whether any finding makes the
// verdict inconclusive.
func gating(fs []Finding) (rules []string, inconclusive bool) {
	for _, f := range fs {
		if f.Severity >= High && !slices.Contains(rules, f.Rule) {
			rules = append(rules, f.Rule)
		}
		inconclusive = inconclusive || MakesInconclusive(f)
	}
	slices.Sort(rules)
	return rules, inconclusive
}

func find(fs []Finding, rule, path string) *Finding {
	for i := range fs {
		if fs[i].Rule == rule && fs[i].Path == path {
			return &fs[i]
		}
	}
	return nil
}

func reasonCodes(f *Finding) []string {
	var out []string
	for _, r := range f.Evidence["reasons"].([]reason) {
		out = append(out, r.Code)
	}
	return out
}

// TestEvasionFixtures: each Acme 1.1 candidate of issue 10, analysed like `rollgate verify`
// does and judged against acme-1.0.msi, fails the default gate (a finding at or above high)
// for its own reason; the benign update does not.
func TestEvasionFixtures(t *testing.T) {
	if testing.Short() {
		t.Skip("analyses MSI fixtures")
	}
	const app = "ProgramFiles64Folder/Acme Softphone/"
	base := fixtureInventory(t, "acme-1.0.msi")
	tests := []struct {
		fixture      string
		wantHigh     []string // rules at or above high
		inconclusive bool
		check        func(t *testing.T, fs []Finding)
	}{
		{fixture: "acme-1.1.msi"},
		{fixture: "acme-1.0.msi"},
		{fixture: "acme-1.1-benign-ffmpeg5.msi", check: func(t *testing.T, fs []Finding) {
			if f := find(fs, ContentChangedSuspicious, app+"ffmpeg.dll"); f != nil {
				t.Errorf("an honest third-party update scored: %s", f.Message)
			}
		}},
		{fixture: "acme-1.1-benign-moved.msi", check: func(t *testing.T, fs []Finding) {
			if find(fs, FileMoved, app+"lib/ffmpeg.dll") == nil {
				t.Error("the moved ffmpeg.dll is not paired")
			}
		}},
		{fixture: "acme-1.1-benign-plugin.msi"},
		{fixture: "acme-1.1-ffmpeg-bumped.msi", wantHigh: []string{ContentChangedSuspicious},
			check: func(t *testing.T, fs []Finding) {
				f := find(fs, ContentChangedSuspicious, app+"ffmpeg.dll")
				if f == nil {
					t.Fatal("no content.changed-suspicious on ffmpeg.dll")
				}
				if d := cmp.Diff([]string{"version-bumped", "endpoints-added", "third-party"}, reasonCodes(f)); d != "" {
					t.Errorf("reasons (-want +got)\n%s", d)
				}
			}},
		{fixture: "acme-1.1-ffmpeg-nover.msi", wantHigh: []string{ContentChangedSuspicious},
			check: func(t *testing.T, fs []Finding) {
				f := find(fs, ContentChangedSuspicious, app+"ffmpeg.dll")
				if f == nil {
					t.Fatal("no content.changed-suspicious on ffmpeg.dll")
				}
				if d := cmp.Diff([]string{"version-removed", "endpoints-added", "third-party"}, reasonCodes(f)); d != "" {
					t.Errorf("reasons (-want +got)\n%s", d)
				}
			}},
		{fixture: "acme-1.1-ffmpeg-moved.msi", wantHigh: []string{ContentChangedSameVer},
			check: func(t *testing.T, fs []Finding) {
				f := find(fs, FileMoved, app+"lib/ffmpeg.dll")
				if f == nil {
					t.Fatal("lib/ffmpeg.dll not paired with the baseline's ffmpeg.dll")
				}
				want := map[string]any{"baseline_path": app + "ffmpeg.dll", "paired_by": "original-name"}
				got := map[string]any{"baseline_path": f.Evidence["baseline_path"], "paired_by": f.Evidence["paired_by"]}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("file.moved evidence (-want +got)\n%s", d)
				}
				if find(fs, FileRemoved, app+"ffmpeg.dll") != nil || find(fs, FileAdded, app+"lib/ffmpeg.dll") != nil {
					t.Error("a moved file must not read as removed + added")
				}
			}},
		{fixture: "acme-1.1-cryptbase.msi", wantHigh: []string{SideloadSystemName, SigCoverageRegressed}},
		{fixture: "acme-1.1-plugin-unsigned.msi", wantHigh: []string{SigCoverageRegressed}},
		{fixture: "acme-1.1-tmp-dll.msi", wantHigh: []string{SigCoverageRegressed},
			check: func(t *testing.T, fs []Finding) {
				if find(fs, SigCoverageRegressed, app+"update.tmp") == nil {
					t.Error("the DLL shipped as update.tmp is not judged as code")
				}
			}},
		{fixture: "acme-1.1-ps1.msi", wantHigh: []string{SigCoverageRegressed},
			check: func(t *testing.T, fs []Finding) {
				if find(fs, StringsEndpointAdded, app+"update.ps1") == nil {
					t.Error("update.ps1's endpoint not reported")
				}
			}},
		{fixture: "acme-1.1-lookalike.msi", wantHigh: []string{SigCoverageRegressed},
			check: func(t *testing.T, fs []Finding) {
				if find(fs, SigUntrusted, app+"plugins/acmeplugin.dll") == nil {
					t.Error("look-alike signature not reported untrusted")
				}
			}},
		{fixture: "acme-1.1-badpe.msi", wantHigh: []string{AnalysisIncomplete, SigCoverageRegressed}, inconclusive: true},
		// The appended MSI is unpacked under the exe's path (analyze.overlay): no gap left.
		{fixture: "acme-1.1-overlay-msi.msi", wantHigh: []string{SigCoverageRegressed}},
		{fixture: "acme-1.1-overlay-blob.msi", wantHigh: []string{SigCoverageRegressed},
			check: func(t *testing.T, fs []Finding) {
				f := find(fs, PEOverlay, app+"AcmeUpdate.exe")
				if f == nil || f.Severity != Medium {
					t.Errorf("pe.overlay on AcmeUpdate.exe = %+v, want a medium finding", f)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			fs := Static(base, fixtureInventory(t, tt.fixture))
			high, inconclusive := gating(fs)
			if d := cmp.Diff(tt.wantHigh, high); d != "" {
				t.Errorf("rules at or above high (-want +got)\n%s", d)
			}
			if inconclusive != tt.inconclusive {
				t.Errorf("inconclusive = %v, want %v", inconclusive, tt.inconclusive)
			}
			if tt.check != nil {
				tt.check(t, fs)
			}
		})
	}
}

// TestFixtureMSIKeys: entries carry the File and Component keys of the MSI row installing them.
func TestFixtureMSIKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("analyses MSI fixtures")
	}
	got := map[string][2]string{}
	for _, e := range fixtureInventory(t, "acme-1.1-ffmpeg-moved.msi").Entries {
		if e.MSIFile != "" || e.MSIComponent != "" {
			got[e.Path] = [2]string{e.MSIFile, e.MSIComponent}
		}
	}
	const app = "ProgramFiles64Folder/Acme Softphone/"
	want := map[string][2]string{
		app + "AcmePhone.exe":      {"AcmePhone.exe", "AcmePhone"},
		app + "core.dll":           {"core.dll", "Core"},
		app + "d3dcompiler_47.dll": {"d3dcompiler_47.dll", "D3DCompiler"},
		app + "lib/ffmpeg.dll":     {"lib_ffmpeg.dll", "LibFFmpeg"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("MSI keys (-want +got)\n%s", d)
	}
}
