package rules

import (
	"slices"
	"testing"

	"github.com/rollgate/rollgate/inventory"
)

var vendor = &inventory.Signature{State: inventory.SigSigned, Signer: "CN=Acme", Issuer: "CN=CA", PublicKey: "k1", Trusted: true}

func inv(entries ...inventory.Entry) *inventory.Inventory {
	i := &inventory.Inventory{Format: "msi", Entries: entries}
	i.Sort()
	return i
}

func pe(path, sha, ver string, sig *inventory.Signature, imports ...string) inventory.Entry {
	return inventory.Entry{Path: path, SHA256: sha, Kind: inventory.KindPE, Version: ver, Signature: sig, Imports: imports}
}

// ruleSet lists the distinct rules that fired, for comparison.
func ruleSet(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		if !slices.Contains(out, f.Rule) {
			out = append(out, f.Rule)
		}
	}
	slices.Sort(out)
	return out
}

func TestStatic(t *testing.T) {
	const dir = "ProgramFiles64Folder/Acme/"
	base := inv(
		inventory.Entry{Path: inventory.InstallerPath, SHA256: "i1", Kind: inventory.KindData, Signature: vendor},
		pe(dir+"app.exe", "a1", "1.0.0.0", vendor, "ffmpeg.dll", "kernel32.dll"),
		pe(dir+"ffmpeg.dll", "f1", "4.4.0.0", vendor),
		pe(dir+"d3dcompiler_47.dll", "d1", "10.0.19041.1", vendor),
		inventory.Entry{Path: dir + "readme.txt", SHA256: "r1", Kind: inventory.KindData},
	)
	base.CustomActions = []inventory.CustomAction{{Action: "SetProps", Type: 51, Source: "A", Target: "B"}}
	padded := *vendor
	padded.Anomalies = []inventory.Anomaly{{Kind: inventory.AnomalyPaddingAfterPKCS7, Offset: 100, Length: 256}}
	mallory := &inventory.Signature{State: inventory.SigSigned, Signer: "CN=Mallory", Issuer: "CN=CA", PublicKey: "k2", Trusted: true}
	untrusted := &inventory.Signature{State: inventory.SigSigned, Signer: "CN=Acme", Issuer: "CN=CA", PublicKey: "k1", TrustError: "unknown authority"}
	invalid := &inventory.Signature{State: inventory.SigInvalid, Signer: "CN=Acme", IntegrityError: "digest mismatch"}
	unsigned := &inventory.Signature{State: inventory.SigUnsigned}

	type mod func(c *inventory.Inventory)
	set := func(path string, f func(e *inventory.Entry)) mod {
		return func(c *inventory.Inventory) {
			e, ok := c.Lookup(path)
			if !ok {
				t.Fatalf("no %s", path)
			}
			f(e)
		}
	}
	tests := []struct {
		name string
		mods []mod
		want []string
	}{
		{"identical", nil, nil},
		{"benign bump", []mod{set(dir+"app.exe", func(e *inventory.Entry) { e.SHA256, e.Version = "a2", "1.1.0.0" })}, []string{FileChanged}},
		{"ffmpeg same version", []mod{set(dir+"ffmpeg.dll", func(e *inventory.Entry) { e.SHA256 = "f2" })}, []string{ContentChangedSameVer, FileChanged}},
		{"padding", []mod{set(dir+"d3dcompiler_47.dll", func(e *inventory.Entry) { e.SHA256 = "d2"; e.Signature = &padded })}, []string{ContentChangedSameVer, FileChanged, SigPadding}},
		{"signer swap", []mod{set(dir+"app.exe", func(e *inventory.Entry) { e.SHA256 = "a2"; e.Version = "1.1.0.0"; e.Signature = mallory })}, []string{ContentChangedSuspicious, FileChanged, SigCoverageRegressed, SigSignerChanged}},
		{"stripped", []mod{set(dir+"app.exe", func(e *inventory.Entry) { e.SHA256 = "a2"; e.Version = "1.1.0.0"; e.Signature = unsigned })}, []string{ContentChangedSuspicious, FileChanged, SigCoverageRegressed, SigRemoved}},
		{"installer unsigned", []mod{set(inventory.InstallerPath, func(e *inventory.Entry) { e.SHA256 = "i2"; e.Signature = unsigned })}, []string{SigRemoved}},
		{"invalid", []mod{set(dir+"app.exe", func(e *inventory.Entry) { e.Signature = invalid })}, []string{SigInvalid}},
		{"untrusted", []mod{set(dir+"app.exe", func(e *inventory.Entry) { e.Signature = untrusted })}, []string{SigUntrusted}},
		{"import added", []mod{set(dir+"app.exe", func(e *inventory.Entry) {
			e.SHA256, e.Version, e.Imports = "a2", "1.1.0.0", []string{"ffmpeg.dll", "kernel32.dll", "wininet.dll"}
		})}, []string{ContentChangedSuspicious, FileChanged, PEImportAdded}},
		{"endpoint added", []mod{set(dir+"app.exe", func(e *inventory.Entry) {
			e.SHA256, e.Version, e.Endpoints = "a2", "1.1.0.0", []string{"https://c2.mallory.invalid/p.ico"}
		})}, []string{ContentChangedSuspicious, FileChanged, StringsEndpointAdded}},
		{"sideload", []mod{func(c *inventory.Inventory) {
			c.Entries = append(c.Entries, pe(dir+"version.dll", "v1", "", unsigned))
			c.Sort()
		}}, []string{FileAdded, FileAddedUnsignedCode, SideloadSystemName, SigCoverageRegressed}},
		{"system dll in system folder is not a side-load", []mod{func(c *inventory.Inventory) {
			c.Entries = append(c.Entries, pe("System64Folder/version.dll", "v1", "", vendor))
			c.Sort()
		}}, []string{FileAdded}},
		{"removed", []mod{func(c *inventory.Inventory) {
			c.Entries = slices.DeleteFunc(c.Entries, func(e inventory.Entry) bool { return e.Path == dir+"readme.txt" })
		}}, []string{FileRemoved}},
		{"custom action added", []mod{func(c *inventory.Inventory) {
			c.CustomActions = append(c.CustomActions, inventory.CustomAction{Action: "Run", Type: 34, Source: "INSTALLDIR", Target: "x.exe"})
		}}, []string{MSICustomActionAdded}},
		{"custom action changed", []mod{func(c *inventory.Inventory) { c.CustomActions[0].Target = "C" }}, []string{MSICustomActionAdded}},
	}
	for _, tt := range tests {
		cand := clone(base)
		for _, m := range tt.mods {
			m(cand)
		}
		got := ruleSet(Static(base, cand))
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: Static rules = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestStaticNoBaseline(t *testing.T) {
	padded := *vendor
	padded.Anomalies = []inventory.Anomaly{{Kind: inventory.AnomalyDataAfterTable, Offset: 1, Length: 8}}
	c := inv(
		pe("ProgramFiles64Folder/Acme/version.dll", "v", "", nil),
		pe("ProgramFiles64Folder/Acme/d3dcompiler_47.dll", "d", "", &padded),
		pe("ProgramFiles64Folder/Acme/msvcp140.dll", "m", "", vendor),
	)
	got := ruleSet(Static(nil, c))
	want := []string{SideloadSystemName, SigPadding}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Static(nil) rules = %v, want %v", got, want)
	}
}

func TestStaticMachO(t *testing.T) {
	app := "Acme.app/Contents/"
	mk := func(ents []string, notarized bool, weak ...string) *inventory.Inventory {
		return inv(
			inventory.Entry{Path: app + "MacOS/Acme", Kind: inventory.KindMachO, SHA256: "x", Version: "1.0",
				Imports: append([]string{"@rpath/libffmpeg.dylib"}, weak...),
				MachO:   &inventory.MachO{Entitlements: ents, RPaths: []string{"@executable_path/../Frameworks"}, WeakDylibs: weak, Notarized: notarized}},
			inventory.Entry{Path: app + "Frameworks/libffmpeg.dylib", Kind: inventory.KindMachO, SHA256: "y", MachO: &inventory.MachO{}},
		)
	}
	base := mk([]string{"com.apple.security.network.client"}, true)
	tests := []struct {
		name string
		cand *inventory.Inventory
		want []string
	}{
		{"same", mk([]string{"com.apple.security.network.client"}, true), nil},
		{"library validation off", mk([]string{"com.apple.security.network.client", "com.apple.security.cs.disable-library-validation"}, true), []string{MachoEntitlementAdded}},
		{"ticket gone", mk([]string{"com.apple.security.network.client"}, false), []string{NotarizationMissing}},
		{"weak dylib missing", mk([]string{"com.apple.security.network.client"}, true, "@rpath/libhook.dylib"), []string{MachoDylibHijackable, PEImportAdded}},
	}
	for _, tt := range tests {
		got := ruleSet(Static(base, tt.cand))
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: Static rules = %v, want %v", tt.name, got, tt.want)
		}
	}
	// a medium severity for an entitlement that does not weaken the runtime
	fs := Static(base, mk([]string{"com.apple.security.network.client", "com.apple.security.device.camera"}, true))
	if len(fs) != 1 || fs[0].Severity != Medium {
		t.Errorf("camera entitlement: %+v, want one medium finding", fs)
	}
}

func clone(in *inventory.Inventory) *inventory.Inventory {
	out := *in
	out.Entries = make([]inventory.Entry, len(in.Entries))
	copy(out.Entries, in.Entries)
	for i := range out.Entries {
		out.Entries[i].Imports = slices.Clone(in.Entries[i].Imports)
	}
	out.CustomActions = slices.Clone(in.CustomActions)
	return &out
}
