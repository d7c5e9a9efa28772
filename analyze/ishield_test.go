package analyze

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/unpack/iscab/iscabtest"
	"github.com/rollgate/rollgate/unpack/ishield/ishieldtest"
)

// TestInstallShieldCabinetSets builds InstallScript launchers (the committed unsigned PE
// standing in for setup.exe, a plain-layout payload) around an InstallShield cabinet set
// written by iscabtest, with a data1.hdr or a data1.cab that is its own header: a set that
// reads is listed under Disk1/data1.cab/ with no Skip; a set with a volume missing stays a
// Skip on its header and volumes, and nothing of it is listed.
func TestInstallShieldCabinetSets(t *testing.T) {
	stub, err := os.ReadFile("../testdata/fixtures/win/pe/AcmePhone-1.0.unsigned.exe")
	if err != nil {
		t.Fatal(err)
	}
	set := iscabtest.Set{Files: []iscabtest.File{
		{Group: "Program", Dir: "bin", Name: "readme.txt", Data: []byte("Acme Softphone\r\n")},
		{Group: "Program", Dir: "bin", Name: "acme.dat", Data: []byte(strings.Repeat("acme data ", 5000)), Compress: true, Obfuscate: true, Split: 50},
		{Group: "Program", Dir: "bin", Name: "tail.txt", Data: []byte("volume two"), Vol: 2},
	}}
	digest := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
	type file struct {
		Size   int64
		SHA256 string
	}
	readable := map[string]file{}
	for _, f := range set.Files {
		readable["Disk1/data1.cab/Program/"+f.Dir+"/"+f.Name] = file{int64(len(f.Data)), digest(f.Data)}
	}
	payload := func(set iscabtest.Set, drop string) []byte {
		var files []ishieldtest.File
		fsys := set.FS()
		var names []string
		for n := range fsys {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if n != drop {
				files = append(files, ishieldtest.File{Name: n[len("Disk1/"):], Path: strings.ReplaceAll(n, "/", `\`), Data: fsys[n].Data})
			}
		}
		files = append(files, ishieldtest.File{Name: "setup.ini", Path: `Disk1\setup.ini`, Data: []byte(
			"[Startup]\r\nAppName=Acme Softphone\r\nProductGUID=6F1C7A52-0000-4000-8000-ACME00000003\r\n")})
		return ishieldtest.Plain(files...)
	}
	self := set
	self.SelfHeader = true
	tests := []struct {
		name        string
		set         iscabtest.Set
		drop        string
		wantFiles   map[string]file
		wantSkipped []string
	}{
		{"readable", set, "", readable, nil},
		{"data1.cab its own header", self, "", readable, nil},
		{"volume missing", set, "Disk1/data2.cab", map[string]file{}, []string{"Disk1/data1.cab", "Disk1/data1.hdr"}},
		{"own header, volume missing", self, "Disk1/data2.cab", map[string]file{}, []string{"Disk1/data1.cab"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "setup.exe")
			if err := os.WriteFile(p, append(append([]byte{}, stub...), payload(tc.set, tc.drop)...), 0o644); err != nil {
				t.Fatal(err)
			}
			inv, err := unsafeAnalyzer(t).Installer(context.Background(), p)
			if err != nil {
				t.Fatalf("Installer = %v", err)
			}
			got := map[string]file{}
			for _, e := range inv.Entries {
				if strings.HasPrefix(e.Path, "Disk1/data1.cab/") {
					got[e.Path] = file{e.Size, e.SHA256}
				}
			}
			if d := cmp.Diff(tc.wantFiles, got); d != "" {
				t.Errorf("cabinet entries (-want +got)\n%s", d)
			}
			var skipped []string
			for _, s := range inv.Skipped {
				skipped = append(skipped, s.Path)
				if s.Reason == isCabinetSkip([]byte("ISc(")) {
					t.Errorf("Skip %s gives the generic reason, not its set's error", s.Path)
				}
			}
			if d := cmp.Diff(tc.wantSkipped, skipped); d != "" {
				t.Errorf("Skipped (-want +got)\n%s", d)
			}
			if inv.Format != "ishield" {
				t.Errorf("Format = %q, want ishield", inv.Format)
			}
		})
	}
}
