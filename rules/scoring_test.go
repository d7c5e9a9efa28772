package rules

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/inventory"
)

// lib is a versioned third-party-or-not DLL entry.
func lib(path, sha, ver, company string, sig *inventory.Signature, endpoints ...string) inventory.Entry {
	return inventory.Entry{Path: path, SHA256: sha, Kind: inventory.KindPE, Version: ver, Company: company,
		OriginalName: "lib.dll", Signature: sig, Endpoints: endpoints}
}

// TestScoring: content.changed-suspicious weighs the signals of a changed library together.
func TestScoring(t *testing.T) {
	const p = "ProgramFiles64Folder/Acme/lib.dll"
	const url = "https://c2.mallory.invalid/x"
	tests := []struct {
		name    string
		base    inventory.Entry
		cand    inventory.Entry
		want    Severity // -1: no finding
		reasons []string
	}{
		{"third-party bump with endpoint", lib(p, "a", "4.4.0.0", "FFmpeg", vendor), lib(p, "b", "4.4.0.1", "FFmpeg", vendor, url),
			High, []string{"version-bumped", "endpoints-added", "third-party"}},
		{"third-party version removed", lib(p, "a", "4.4.0.0", "FFmpeg", vendor), lib(p, "b", "", "", vendor),
			High, []string{"version-removed", "third-party"}},
		{"first-party version removed", lib(p, "a", "1.0.0.0", "Acme Ltd", vendor), lib(p, "b", "", "", vendor),
			Medium, []string{"version-removed"}},
		{"version backwards", lib(p, "a", "4.4.0.10", "Acme", vendor), lib(p, "b", "4.4.0.9", "Acme", vendor),
			Medium, []string{"version-backwards"}},
		{"company renamed with bump", lib(p, "a", "1.0", "Acme Ltd", vendor), lib(p, "b", "1.1", "ACME Limited", vendor),
			-1, nil}, // legal suffixes and case aside, the same organisation
		{"company swapped with bump", lib(p, "a", "1.0", "Acme", vendor), lib(p, "b", "1.1", "Zeta", vendor),
			High, []string{"version-bumped", "company-changed", "third-party"}},
		{"first-party bump with endpoint", lib(p, "a", "1.0.0.0", "Acme Ltd", vendor), lib(p, "b", "1.1.0.0", "Acme Ltd", vendor, url),
			Medium, []string{"version-bumped", "endpoints-added"}},
		{"third-party plain bump", lib(p, "a", "4.4.0.0", "FFmpeg", vendor), lib(p, "b", "5.0.0.0", "FFmpeg", vendor),
			-1, nil},
		{"same version is content.changed-same-version's", lib(p, "a", "4.4.0.0", "FFmpeg", vendor), lib(p, "b", "4.4.0.0", "FFmpeg", vendor, url),
			-1, nil},
		{"unversioned with endpoint", lib(p, "a", "", "", vendor), lib(p, "b", "", "", vendor, url),
			Low, []string{"endpoints-added"}},
		{"network import", func() inventory.Entry {
			e := lib(p, "a", "4.4.0.0", "FFmpeg", vendor)
			e.Imports = []string{"kernel32.dll"}
			return e
		}(),
			func() inventory.Entry {
				e := lib(p, "b", "4.4.0.1", "FFmpeg", vendor)
				e.Imports = []string{"kernel32.dll", "winhttp.dll"}
				return e
			}(),
			High, []string{"version-bumped", "network-imports", "third-party"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := inv(tt.base)
			base.Product.Manufacturer = "Acme Ltd"
			cand := inv(tt.cand)
			cand.Product.Manufacturer = "Acme Ltd"
			f := find(Static(base, cand), ContentChangedSuspicious, p)
			if tt.want < 0 {
				if f != nil {
					t.Fatalf("unexpected %s: %s", f.Severity, f.Message)
				}
				return
			}
			if f == nil {
				t.Fatalf("no %s, want %s", ContentChangedSuspicious, tt.want)
			}
			if f.Severity != tt.want {
				t.Errorf("severity %s, want %s (%s)", f.Severity, tt.want, f.Message)
			}
			if d := cmp.Diff(tt.reasons, reasonCodes(f)); d != "" {
				t.Errorf("reasons (-want +got)\n%s", d)
			}
		})
	}
}

func TestCmpVersion(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"4.4.0.1", "4.4.0.0", 1}, {"4.4.0.9", "4.4.0.10", -1}, {"1.0", "1.0.0.0", 0}, {"2", "10", -1}, {"1.0b", "1.0a", 1},
	}
	for _, tt := range tests {
		if got := cmpVersion(tt.a, tt.b); got != tt.want {
			t.Errorf("cmpVersion(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestPairing: files are paired by path, then MSI File key, Component, original name and file
// name; an ambiguous key pairs nothing.
func TestPairing(t *testing.T) {
	mk := func(path, sha, file, comp, orig string) inventory.Entry {
		return inventory.Entry{Path: path, SHA256: sha, Kind: inventory.KindPE, MSIFile: file, MSIComponent: comp, OriginalName: orig, Signature: vendor}
	}
	tests := []struct {
		name string
		base []inventory.Entry
		cand []inventory.Entry
		want map[string]string // candidate path → "baseline path by"
	}{
		{"file key", []inventory.Entry{mk("A/x.dll", "1", "fx", "cx", "x.dll")}, []inventory.Entry{mk("A/lib/y.dll", "2", "fx", "cy", "y.dll")},
			map[string]string{"A/lib/y.dll": "A/x.dll msi-file-key"}},
		{"component", []inventory.Entry{mk("A/x.dll", "1", "fx", "cx", "")}, []inventory.Entry{mk("A/lib/y.dll", "2", "fy", "cx", "")},
			map[string]string{"A/lib/y.dll": "A/x.dll msi-component"}},
		{"original name", []inventory.Entry{mk("A/x.dll", "1", "", "", "X.DLL")}, []inventory.Entry{mk("A/update.tmp", "2", "", "", "x.dll")},
			map[string]string{"A/update.tmp": "A/x.dll original-name"}},
		{"file name", []inventory.Entry{mk("A/x.dll", "1", "", "", "")}, []inventory.Entry{mk("A/lib/X.dll", "2", "", "", "")},
			map[string]string{"A/lib/X.dll": "A/x.dll file-name"}},
		{"path wins", []inventory.Entry{mk("A/x.dll", "1", "", "", "x.dll"), mk("A/y.dll", "1", "", "", "")},
			[]inventory.Entry{mk("A/x.dll", "2", "", "", ""), mk("A/z.dll", "3", "", "", "x.dll")},
			map[string]string{"A/x.dll": "A/x.dll path"}},
		{"ambiguous", []inventory.Entry{mk("A/x.dll", "1", "", "", ""), mk("B/x.dll", "1", "", "", "")},
			[]inventory.Entry{mk("C/x.dll", "2", "", "", "")}, map[string]string{}},
		{"kinds differ", []inventory.Entry{mk("A/x.dll", "1", "", "", "")},
			[]inventory.Entry{{Path: "B/x.dll", SHA256: "2", Kind: inventory.KindData}}, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, cand := inv(tt.base...), inv(tt.cand...)
			got := map[string]string{}
			for e, p := range pairEntries(base, cand) {
				got[e.Path] = p.base.Path + " " + p.by
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("pairs (-want +got)\n%s", d)
			}
		})
	}
}

// TestCoverage: sig.coverage-regressed only in a product whose baseline code was all signed
// by trusted publishers.
func TestCoverage(t *testing.T) {
	const dir = "ProgramFiles64Folder/Acme/"
	untrusted := &inventory.Signature{State: inventory.SigSigned, Signer: "CN=Acme", Issuer: "CN=Fake", PublicKey: "k9", TrustError: "unknown authority"}
	vendorUntrusted := &inventory.Signature{State: inventory.SigSigned, Signer: "CN=Acme", Issuer: "CN=CA", PublicKey: "k1", TrustError: "unknown authority"}
	other := &inventory.Signature{State: inventory.SigSigned, Signer: "CN=Other", Issuer: "CN=CA", PublicKey: "k3", Trusted: true}
	script := inventory.Entry{Path: dir + "get.ps1", SHA256: "s", Kind: inventory.KindScript}
	html := inventory.Entry{Path: dir + "ui/index.html", SHA256: "h", Kind: inventory.KindScript}
	signedBase := []inventory.Entry{pe(dir+"app.exe", "a1", "1.0", vendor), {Path: dir + "readme.txt", SHA256: "r", Kind: inventory.KindData}}
	mixedBase := []inventory.Entry{pe(dir+"app.exe", "a1", "1.0", vendor), pe(dir+"helper.dll", "h1", "1.0", nil)}
	tests := []struct {
		name string
		base []inventory.Entry
		add  inventory.Entry
		want []string // rules at or above high
	}{
		{"unsigned dll, all signed", signedBase, pe(dir+"new.dll", "n", "", nil), []string{SigCoverageRegressed}},
		{"untrusted look-alike dll, all signed", signedBase, pe(dir+"new.dll", "n", "", untrusted), []string{SigCoverageRegressed}},
		{"vendor's key, chain untrusted in this run", signedBase, pe(dir+"new.dll", "n", "", vendorUntrusted), nil},
		{"new publisher, all signed", signedBase, pe(dir+"new.dll", "n", "", other), []string{SigCoverageRegressed}},
		{"same publisher, all signed", signedBase, pe(dir+"new.dll", "n", "", vendor), nil},
		{"ps1, all signed", signedBase, script, []string{SigCoverageRegressed}},
		{"html is not signable: stays medium", signedBase, html, nil},
		{"unsigned dll, never fully signed", mixedBase, pe(dir+"new.dll", "n", "", nil), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := inv(tt.base...)
			cand := inv(append(slices.Clone(tt.base), tt.add)...)
			high, _ := gating(Static(base, cand))
			if d := cmp.Diff(tt.want, high); d != "" {
				t.Errorf("rules at or above high (-want +got)\n%s", d)
			}
		})
	}
}

// TestIncomplete: unparsed code, unopened nested containers, skipped input and container
// overlays nothing unpacked are analysis.incomplete and make the verdict inconclusive, with
// or without a baseline (an empty one: every file is new).
func TestIncomplete(t *testing.T) {
	const dir = "ProgramFiles64Folder/Acme/"
	bad := pe(dir+"bad.dll", "b", "", nil)
	bad.Error = "pe: not a valid PE signature"
	nested := inventory.Entry{Path: dir + "data.cab", SHA256: "c", Kind: inventory.KindArchive}
	opened := inventory.Entry{Path: dir + "ok.cab", SHA256: "c", Kind: inventory.KindArchive, Container: "cab"}
	setup := pe(dir+"setup.exe", "s", "", nil)
	setup.Overlay = &inventory.Overlay{Offset: 4096, Size: 1000, Format: "msi"}
	blob := pe(dir+"blob.exe", "s", "", nil)
	blob.Overlay = &inventory.Overlay{Offset: 4096, Size: 1000}
	signedBlob := pe(dir+"signed.exe", "s", "", vendor)
	signedBlob.Overlay = &inventory.Overlay{Offset: 4096, Size: 1000}
	tests := []struct {
		name  string
		cand  *inventory.Inventory
		rules []string
	}{
		{"pe error", inv(bad), []string{AnalysisIncomplete}},
		{"unopened nested container", inv(nested), []string{AnalysisIncomplete}},
		{"opened nested container", inv(opened), nil},
		{"skipped input", func() *inventory.Inventory {
			i := inv()
			i.Skipped = []inventory.Skip{{Path: "Streams/orphan", Reason: "stream no table references"}}
			return i
		}(), []string{AnalysisIncomplete}},
		{"msi overlay not unpacked", inv(setup), []string{AnalysisIncomplete}},
		{"msi overlay unpacked", inv(setup, inventory.Entry{Path: dir + "setup.exe/x.dll", SHA256: "x", Kind: inventory.KindData}), nil},
		{"unknown overlay, unsigned", inv(blob), []string{PEOverlay}},
		{"unknown overlay, signed", inv(signedBlob), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, fs := range [][]Finding{Static(nil, tt.cand), Static(inv(), tt.cand)} {
				var got []string
				inconclusive := false
				for _, f := range fs {
					if f.Rule == AnalysisIncomplete || f.Rule == PEOverlay {
						got = append(got, f.Rule)
					}
					inconclusive = inconclusive || MakesInconclusive(f)
				}
				if d := cmp.Diff(tt.rules, got); d != "" {
					t.Errorf("(-want +got)\n%s", d)
				}
				if want := slices.Contains(tt.rules, AnalysisIncomplete); inconclusive != want {
					t.Errorf("inconclusive = %v, want %v", inconclusive, want)
				}
			}
		})
	}
}

// TestSystemDLLList: the side-load list carries the real Windows DLLs issue 10 names, and
// leaves out redistributables that applications ship legitimately.
func TestSystemDLLList(t *testing.T) {
	for _, n := range []string{"cryptbase.dll", "profapi.dll", "dbgcore.dll", "wldp.dll", "dpapi.dll", "edgegdi.dll",
		"dxcore.dll", "textshaping.dll", "version.dll", "kernel32.dll", "advapi32.dll"} {
		if !systemDLLs[n] {
			t.Errorf("%s is not on the side-load list", n)
		}
	}
	for _, n := range []string{"msvcp140.dll", "vcruntime140.dll", "d3dcompiler_47.dll", "ucrtbase.dll"} {
		if systemDLLs[n] {
			t.Errorf("redistributable %s is on the side-load list", n)
		}
	}
}
