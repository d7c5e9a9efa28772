package analyze

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack/ishield"
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

// TestSelfExtractingCabinetAfterData: a stub whose overlay holds a block of other bytes
// before the cabinet (and a second cabinet after it) is still read, as cabextract's search
// reads it. acme-sfx.exe with a 100-byte block inserted at the overlay keeps its files at
// their plain names; with a second cabinet appended, each cabinet's files go under
// "(cab@OFFSET)/", the offset counted from the overlay's start.
func TestSelfExtractingCabinetAfterData(t *testing.T) {
	const stub = 15872 // acme-sfx.exe's overlay offset, the AcmeUpdate.exe stub's size
	sfx, err := os.ReadFile("../testdata/fixtures/win/sfx/acme-sfx.exe")
	if err != nil {
		t.Fatal(err)
	}
	cabinet := sfx[stub:]
	block := bytes.Repeat([]byte("[SFX] run=AcmePhone.exe MSCF\x00\x00\x00\x00 "), 4)[:100]
	tests := []struct {
		name string
		data []byte
		want []string
	}{
		{"block before the cabinet", concat(sfx[:stub], block, cabinet),
			[]string{"AcmePhone.exe", "core.dll", "readme.txt"}},
		{"two cabinets", concat(sfx[:stub], block, cabinet, cabinet),
			[]string{"(cab@100)/AcmePhone.exe", "(cab@100)/core.dll", "(cab@100)/readme.txt",
				"(cab@16141)/AcmePhone.exe", "(cab@16141)/core.dll", "(cab@16141)/readme.txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "acme-sfx.exe")
			if err := os.WriteFile(p, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			inv, err := unsafeAnalyzer(t).Installer(context.Background(), p)
			if err != nil {
				t.Fatalf("Installer = %v", err)
			}
			var got []string
			for _, e := range inv.Entries {
				if e.Path != inventory.InstallerPath && !strings.HasPrefix(e.Path, inventory.InstallerPath+"/") {
					got = append(got, e.Path)
				}
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("files (-want +got)\n%s", d)
			}
			self, _ := inv.Lookup(inventory.InstallerPath)
			if self == nil || self.Overlay == nil || self.Overlay.Format != "cab" || self.Overlay.Offset != stub {
				t.Errorf("installer overlay = %+v, want a cab overlay at %d", self, stub)
			}
			if d := cmp.Diff("pe-product:Acme Softphone Ltd/Acme Softphone", inv.Product.Identity); d != "" {
				t.Errorf("Product.Identity (-want +got)\n%s", d)
			}
		})
	}
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// TestSearchCabinetSample inspects libmspack's search.cab (24 cabinets after 6 bytes of
// text, rollgate refused it before): the files cabextract -l lists, each under its
// cabinet's "(cab@OFFSET)/" (unpack/cab's TestSearchConformance checks sizes and contents
// against cabextract), and the cabinets stored as files unpacked beneath them.
func TestSearchCabinetSample(t *testing.T) {
	p := testutil.Sample(t, "cab/libmspack/good/search.cab")
	inv, err := unsafeAnalyzer(t).Installer(context.Background(), p)
	if err != nil {
		t.Fatalf("Installer(search.cab) = %v", err)
	}
	type row struct {
		Path string
		Size int64
	}
	var got []row
	for _, e := range inv.Entries {
		if strings.Count(e.Path, "/") == 1 {
			got = append(got, row{e.Path, e.Size})
		}
	}
	// cabextract -l's order (file order), sorted as the inventory sorts paths.
	listed := []row{{"(cab@6)/hello.cab", 84}, {"(cab@174)/there.cab", 84}, {"(cab@344)/general.cab", 88},
		{"(cab@519)/kenobi.cab", 86}, {"(cab@684)/hello.txt", 6}, {"(cab@768)/there.txt", 6},
		{"(cab@852)/general.txt", 8}, {"(cab@940)/kenobi.txt", 7}, {"(cab@1033)/hello.cab", 84},
		{"(cab@1195)/hello.txt", 6}, {"(cab@1279)/hello.cab", 84}, {"(cab@1441)/hello.txt", 6},
		{"(cab@1525)/there.cab", 84}, {"(cab@1687)/there.txt", 6}, {"(cab@1771)/there.cab", 84},
		{"(cab@1933)/there.txt", 6}, {"(cab@2017)/general.cab", 88}, {"(cab@2185)/general.txt", 8},
		{"(cab@2273)/general.cab", 88}, {"(cab@2441)/general.txt", 8}, {"(cab@2529)/kenobi.cab", 86},
		{"(cab@2694)/kenobi.txt", 7}, {"(cab@2780)/kenobi.cab", 86}, {"(cab@2945)/kenobi.txt", 7}}
	if d := cmp.Diff(listed, got, cmpopts.SortSlices(func(a, b row) bool { return a.Path < b.Path })); d != "" {
		t.Errorf("cabinet files (-want +got)\n%s", d)
	}
	if inv.Format != "cab" || inv.Product.Identity != "cab:search.cab" {
		t.Errorf("Format %q, identity %q, want cab, cab:search.cab", inv.Format, inv.Product.Identity)
	}
}

// TestRealInstallShieldCabinet: ClamAV's InstallShield InstallScript launcher (a real vendor
// stub; clamav-testfiles from Debian, pinned by scripts/fetch-realfiles) is read as the
// launcher's Disk1 media (unpack/ishield checks them against ClamAV). The engine cabinet in it
// lists the files `7zz x` extracts, with their bytes (testdata/real/gen.sh wrote the listing);
// InstallShield's own cabinet set (data1.hdr, data1.cab, data2.cab), which holds the
// product's files, lists the files unshield extracts (package iscab's golden,
// unpack/iscab/testdata/record-unshield.sh) under Disk1/data1.cab/, and nothing is skipped.
func TestRealInstallShieldCabinet(t *testing.T) {
	p := testutil.RealFile(t, "installers/debian/clamav-testfiles@1.4.3/clam_IScab_int.exe")
	type file struct {
		Size   int64
		SHA256 string
	}
	// listing reads a reference tool's golden (path, size, sha256) with the paths under dir.
	listing := func(golden, dir string) map[string]file {
		out := map[string]file{}
		for _, f := range testutil.ReadTSV(t, golden, 3) {
			n, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatalf("%s: size %q", golden, f[1])
			}
			out[dir+f[0]] = file{n, f[2]}
		}
		return out
	}
	const cabDir = "Disk1/engine32.cab/"
	want := listing("testdata/real/clam_IScab_int.tsv", cabDir)
	inv, err := unsafeAnalyzer(t).Installer(context.Background(), p)
	if err != nil {
		t.Fatalf("Installer(clam_IScab_int.exe) = %v", err)
	}
	got := map[string]file{}
	for _, e := range inv.Entries {
		if strings.HasPrefix(e.Path, cabDir) {
			got[e.Path] = file{e.Size, e.SHA256}
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("engine cabinet entries vs 7zz x (-want +got)\n%s", d)
	}
	const isDir = "Disk1/data1.cab/"
	wantIS := listing("../unpack/iscab/testdata/unshield/clam_IScab_int.tsv", isDir)
	gotIS := map[string]file{}
	for _, e := range inv.Entries {
		if strings.HasPrefix(e.Path, isDir) {
			gotIS[e.Path] = file{e.Size, e.SHA256}
		}
	}
	if d := cmp.Diff(wantIS, gotIS); d != "" {
		t.Errorf("InstallShield cabinet entries vs unshield (-want +got)\n%s", d)
	}
	if len(inv.Skipped) != 0 {
		t.Errorf("Skipped = %v, want none: the cabinet set reads", inv.Skipped)
	}
	if inv.Format != "ishield" || inv.Product.Identity != "installshield:{82223415-1aab-4701-9629-06e8ddb80bda}" {
		t.Errorf("Format %q, identity %q; want ishield and setup.ini's ProductGUID", inv.Format, inv.Product.Identity)
	}
}

// TestRealInstallShieldMSI: ClamAV's Basic MSI launchers carry their MSI obfuscated and
// deflated. The MSI is read as if it were inspected alone: the launcher's product is the
// MSI's own, and its files are listed under it at their install paths.
func TestRealInstallShieldMSI(t *testing.T) {
	a := unsafeAnalyzer(t)
	for _, name := range []string{"clam_ISmsi_int.exe", "clam_ISmsi_ext.exe"} {
		t.Run(name, func(t *testing.T) {
			p := testutil.RealFile(t, "installers/debian/clamav-testfiles@1.4.3/"+name)
			inv, err := a.Installer(context.Background(), p)
			if err != nil {
				t.Fatalf("Installer = %v", err)
			}
			// The MSI, taken out of the launcher by the reader ClamAV checks, inspected alone.
			src := overlaySection(t, p)
			r, err := ishield.NewReader(src, src.Size())
			if err != nil {
				t.Fatal(err)
			}
			f, err := r.Open("clam.msi")
			if err != nil {
				t.Fatal(err)
			}
			msiPath := filepath.Join(t.TempDir(), "clam.msi")
			out, err := os.Create(msiPath)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(out, f); err != nil {
				t.Fatal(err)
			}
			out.Close()
			alone, err := a.Installer(context.Background(), msiPath)
			if err != nil {
				t.Fatalf("Installer(clam.msi) = %v", err)
			}
			if inv.Format != "ishield" {
				t.Errorf("Format = %q, want ishield", inv.Format)
			}
			if d := cmp.Diff(alone.Product, inv.Product); d != "" || inv.Product.Identity == "" {
				t.Errorf("launcher product vs its MSI's (-msi +launcher)\n%s", d)
			}
			var wantFiles, gotFiles []string
			for _, e := range alone.Entries {
				if e.Path != inventory.InstallerPath {
					wantFiles = append(wantFiles, "clam.msi/"+e.Path+" "+e.SHA256)
				}
			}
			for _, e := range inv.Entries {
				if strings.HasPrefix(e.Path, "clam.msi/") {
					gotFiles = append(gotFiles, e.Path+" "+e.SHA256)
				}
			}
			if d := cmp.Diff(wantFiles, gotFiles); d != "" || len(gotFiles) == 0 {
				t.Errorf("files of the carried MSI (-alone +in launcher)\n%s", d)
			}
			if inv.MSI == nil || len(inv.MSI.Registry) != len(alone.MSI.Registry) {
				t.Errorf("the launcher's MSI tables are not the MSI's: %+v", inv.MSI)
			}
		})
	}
}

// overlaySection is a PE's overlay, as peOverlay places it.
func overlaySection(t *testing.T, p string) *io.SectionReader {
	t.Helper()
	o, err := peOverlay(p)
	if err != nil || o == nil {
		t.Fatalf("peOverlay(%s) = %v, %v", p, o, err)
	}
	fh, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fh.Close() })
	return io.NewSectionReader(fh, o.Offset, o.Size)
}
