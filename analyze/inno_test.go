package analyze

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/inno/innotest"
)

// innoInstaller writes a synthetic Inno Setup installer (unpack/inno/innotest's Acme after
// the unsigned AcmePhone stub) to a temporary folder and returns its path.
func innoInstaller(t *testing.T, s *innotest.Synth) string {
	t.Helper()
	stub, err := os.ReadFile("../testdata/fixtures/win/pe/AcmePhone-1.0.unsigned.exe")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Build(stub)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "acme-5.2.0-setup.exe")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestInno: the stub's loader table marks its overlay as Inno Setup data; the files land at
// innoextract's install paths, the script's registry writes, [Run] entries and shortcuts
// become the facts the MSI rules judge, and the AppId's uninstall key names the product.
func TestInno(t *testing.T) {
	for _, v67 := range []bool{false, true} {
		s := innotest.Acme()
		s.V67 = v67
		t.Run(map[bool]string{false: "6.1.0", true: "6.7.0"}[v67], func(t *testing.T) { testInno(t, s) })
	}
}

func testInno(t *testing.T, s *innotest.Synth) {
	inv, err := unsafeAnalyzer(t).Installer(context.Background(), innoInstaller(t, s))
	if err != nil {
		t.Fatalf("Installer = %v", err)
	}
	sum := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
	got := map[string]string{}
	for _, e := range inv.Entries {
		if e.Path != inventory.InstallerPath && e.Kind != inventory.KindArchive {
			got[e.Path] = e.SHA256
		}
	}
	want := map[string]string{
		"app/bin/acme.exe": sum(s.Files[0].Data),
		"app/readme.txt":   sum(s.Files[1].Data),
		"sys/acmehook.dll": sum(s.Files[2].Data),
		"tmp/helper.exe":   sum(s.Files[0].Data),
		"evil.txt":         sum(s.Files[4].Data),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("entries (-want +got)\n%s", d)
	}
	if inv.Format != "inno" {
		t.Errorf("Format = %q, want inno", inv.Format)
	}
	if self, _ := inv.Lookup(inventory.InstallerPath); self == nil || self.Overlay == nil || self.Overlay.Format != "inno" {
		t.Errorf("installer overlay = %+v, want the Inno setup data recognised by the loader table", self)
	}
	wantProduct := inventory.Product{Identity: "inno-uninstall:{6f1c7a52-0000-4000-8000-acme00000001}",
		Name: "Acme Softphone", Version: "5.2.0", Manufacturer: "Acme Corp"}
	if d := cmp.Diff(wantProduct, inv.Product); d != "" {
		t.Errorf("Product (-want +got)\n%s", d)
	}
	wantReg := []inventory.RegistryRow{
		{ID: "inno-0", Root: 1, Key: `Software\Microsoft\Windows\CurrentVersion\Run`, Name: "Acme", Value: `"{app}\bin\acme.exe" --tray`},
		{ID: "inno-1", Root: -1, Key: `Software\Acme`, Name: "Path", Value: "{app}"},
	}
	if inv.MSI == nil {
		t.Fatal("MSI tables not filled")
	}
	if d := cmp.Diff(wantReg, inv.MSI.Registry); d != "" {
		t.Errorf("Registry (-want +got)\n%s", d)
	}
	wantCA := []inventory.CustomAction{{Action: `Run {app}\bin\acme.exe`, Target: `{app}\bin\acme.exe --first-run`}}
	if d := cmp.Diff(wantCA, inv.CustomActions); d != "" {
		t.Errorf("CustomActions (-want +got)\n%s", d)
	}
	wantSC := []inventory.Shortcut{
		{Name: "Acme", Directory: "StartupFolder", Target: "app/bin/acme.exe"},
		{Name: "Acme", Directory: "group", Target: "app/bin/acme.exe"},
	}
	if d := cmp.Diff(wantSC, inv.Shortcuts, cmpSortShortcuts); d != "" {
		t.Errorf("Shortcuts (-want +got)\n%s", d)
	}
	if len(inv.Skipped) != 0 {
		t.Errorf("Skipped = %v, want none", inv.Skipped)
	}
}

var cmpSortShortcuts = cmp.Transformer("sorted", func(in []inventory.Shortcut) map[string]inventory.Shortcut {
	out := map[string]inventory.Shortcut{}
	for _, s := range in {
		out[s.Directory+"/"+s.Name] = s
	}
	return out
})

// TestInnoEncrypted: files in encrypted chunks stay listed by the reader and are reported as
// skipped, so the analysis is incomplete rather than silently short.
func TestInnoEncrypted(t *testing.T) {
	s := innotest.Acme()
	s.Encrypted = true
	inv, err := unsafeAnalyzer(t).Installer(context.Background(), innoInstaller(t, s))
	if err != nil {
		t.Fatalf("Installer = %v", err)
	}
	var skipped []string
	for _, sk := range inv.Skipped {
		skipped = append(skipped, sk.Path)
	}
	if d := cmp.Diff([]string{"app/bin/acme.exe", "app/readme.txt", "tmp/helper.exe"}, skipped); d != "" {
		t.Errorf("Skipped (-want +got)\n%s", d)
	}
	if _, ok := inv.Lookup("sys/acmehook.dll"); !ok {
		t.Errorf("the unencrypted file is missing")
	}
}

// TestInnoUnsupported: setup data of a version the reader does not read is an inconclusive
// error (unpack.ErrUnsupported), not a bare PE that passes.
func TestInnoUnsupported(t *testing.T) {
	old := innotest.Acme()
	old.Version = "Inno Setup Setup Data (5.2.3)"
	newer := innotest.Acme()
	newer.LoaderRevision = 3 // a loader table revision no release writes
	for name, s := range map[string]*innotest.Synth{"5.2.3": old, "loader revision 3": newer} {
		_, err := unsafeAnalyzer(t).Installer(context.Background(), innoInstaller(t, s))
		if err == nil || !IsInconclusive(err) {
			t.Errorf("Installer(%s) = %v, want an inconclusive error", name, err)
		}
	}
}

// spannedInno writes a disk-spanning synthetic Inno Setup installer (its chunks in slices of
// 100 bytes) as acme-setup.exe beside its slices acme-setup-N.bin and returns the
// installer's path and the slices' names, sorted.
func spannedInno(t *testing.T, s *innotest.Synth) (string, []string) {
	t.Helper()
	stub, err := os.ReadFile("../testdata/fixtures/win/pe/AcmePhone-1.0.unsigned.exe")
	if err != nil {
		t.Fatal(err)
	}
	s.SliceSize = 100
	b, sl, err := s.BuildSpanned(stub)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "acme-setup.exe")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var names []string
	for i, d := range sl {
		n := fmt.Sprintf("acme-setup-%d.bin", i+1)
		names = append(names, n)
		if err := os.WriteFile(filepath.Join(dir, n), d, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(names) // as InstallerSideFiles lists them
	return p, names
}

// TestInnoSpanned: an Inno Setup installer whose data is in slice files beside it
// (DiskSpanning=yes) is inventoried from them like one carrying its data, and the slices are
// named as files the inventory was read from (so a baseline of it is never reused for the
// installer's bytes alone).
func TestInnoSpanned(t *testing.T) {
	for _, v67 := range []bool{false, true} {
		t.Run(map[bool]string{false: "6.1.0", true: "6.7.0"}[v67], func(t *testing.T) {
			s := innotest.Acme()
			s.V67 = v67
			want, err := unsafeAnalyzer(t).Installer(context.Background(), innoInstaller(t, s))
			if err != nil {
				t.Fatal(err)
			}
			p, slices := spannedInno(t, s)
			inv, side, err := unsafeAnalyzer(t).InstallerSideFiles(context.Background(), p)
			if err != nil {
				t.Fatalf("Installer = %v", err)
			}
			files := func(inv *inventory.Inventory) map[string]string {
				out := map[string]string{}
				for _, e := range inv.Entries {
					if e.Path != inventory.InstallerPath && e.Kind != inventory.KindArchive {
						out[e.Path] = e.SHA256
					}
				}
				return out
			}
			if d := cmp.Diff(files(want), files(inv)); d != "" {
				t.Errorf("entries (-want +got)\n%s", d)
			}
			if d := cmp.Diff(want.Product, inv.Product); d != "" {
				t.Errorf("Product (-want +got)\n%s", d)
			}
			if d := cmp.Diff(slices, side); d != "" {
				t.Errorf("side files (-want +got)\n%s", d)
			}
		})
	}
}

// TestInnoSpannedIncomplete: a slice that is absent, cut short or not a slice, or a slice
// name that would leave the installer's folder, makes the analysis inconclusive, never a pass.
func TestInnoSpannedIncomplete(t *testing.T) {
	tests := []struct {
		name     string
		synth    func(s *innotest.Synth)
		mutate   func(t *testing.T, dir string)
		sentinel error
	}{
		{"missing", nil, func(t *testing.T, dir string) { mustRemove(t, filepath.Join(dir, "acme-setup-2.bin")) }, unpack.ErrFormat},
		{"truncated", nil, func(t *testing.T, dir string) {
			if err := os.Truncate(filepath.Join(dir, "acme-setup-2.bin"), 50); err != nil {
				t.Fatal(err)
			}
		}, unpack.ErrFormat},
		{"bad magic", nil, func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "acme-setup-1.bin"), []byte("not a slice at all"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, unpack.ErrFormat},
		{"hostile name", func(s *innotest.Synth) { s.BaseFilename = `..\outside` }, func(t *testing.T, dir string) {
			// The installer's own name finds nothing: the header's name is tried, and refused.
			mustRemove(t, filepath.Join(dir, "acme-setup-1.bin"))
		}, unpack.ErrInsecurePath},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := innotest.Acme()
			if tc.synth != nil {
				tc.synth(s)
			}
			p, _ := spannedInno(t, s)
			tc.mutate(t, filepath.Dir(p))
			_, err := unsafeAnalyzer(t).Installer(context.Background(), p)
			if !errors.Is(err, tc.sentinel) || !IsInconclusive(err) {
				t.Errorf("Installer = %v, want an inconclusive %v", err, tc.sentinel)
			}
		})
	}
}

func mustRemove(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}
