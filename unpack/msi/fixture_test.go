package msi

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"testing/fstest"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
)

// The fixtures are built by testdata/fixture/gen.sh (wixl) and checked against msiextract.
var fixtures = []string{
	"testdata/fixture/fixture.msi",
	"testdata/fixture/external/fixture-external.msi",
	"testdata/fixture/uncompressed/fixture-uncompressed.msi",
}

func TestFixture(t *testing.T) {
	want := golden(t, "fixture/fixture.msi")
	for _, path := range fixtures {
		t.Run(filepath.Base(path), func(t *testing.T) {
			prc, err := Open(path)
			if err != nil {
				t.Fatalf("Open(%q) = %v", path, err)
			}
			defer prc.Close()
			p := prc.Reader
			got, err := walkSums(p)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("Walk(%q) = %q, %v; want %q", path, got, err, want)
			}
			var paths []string
			for _, line := range want {
				paths = append(paths, line[66:])
			}
			if err := fstest.TestFS(p, append(paths, "Binary/helper")...); err != nil {
				t.Errorf("TestFS(%q): %v", path, err)
			}

			sc, err := p.Shortcuts()
			wantSC := []inventory.Shortcut{{Name: "Acme App", Directory: "ProgramMenuFolder",
				Target: "ProgramFiles64Folder/Acme Corp/App/app.exe", Arguments: "--start"}}
			if err != nil || !reflect.DeepEqual(sc, wantSC) {
				t.Errorf("Shortcuts() = %+v, %v; want %+v", sc, err, wantSC)
			}
			ca, err := p.CustomActions()
			wantCA := []inventory.CustomAction{
				{Action: "SetProp", Type: 2099, Source: "ACMEPROP", Target: "[INSTALLDIR]x"},
				{Action: "RunHelper", Type: 3137, Source: "helper", Target: "Go"},
			}
			if err != nil || !reflect.DeepEqual(ca, wantCA) {
				t.Errorf("CustomActions() = %+v, %v; want %+v", ca, err, wantCA)
			}
			bins, err := p.Binaries()
			wantBins := []Binary{{Name: "helper", Path: "Binary/helper", Size: 14}}
			if err != nil || !reflect.DeepEqual(bins, wantBins) {
				t.Errorf("Binaries() = %+v, %v; want %+v", bins, err, wantBins)
			}
			if b, err := fs.ReadFile(p, "Binary/helper"); err != nil || string(b) != "MZ helper dll\n" {
				t.Errorf("ReadFile(Binary/helper) = %q, %v", b, err)
			}
			if got := p.Property("ProductVersion"); got != "1.2.3.0" {
				t.Errorf("Property(ProductVersion) = %q, want 1.2.3.0", got)
			}
		})
	}
}

func TestFixtureWithoutFolder(t *testing.T) {
	for _, path := range fixtures[1:] {
		b := readFile(t, path)
		p, err := newReader(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := walkSums(p); !errors.Is(err, unpack.ErrFormat) {
			t.Errorf("Walk(%q without its folder) = %v, want ErrFormat", path, err)
		}
	}
}

func TestExpand(t *testing.T) {
	prc, err := Open(fixtures[0])
	if err != nil {
		t.Fatal(err)
	}
	defer prc.Close()
	p := prc.Reader
	tests := []struct{ in, want string }{
		{"[#app.exe]", "ProgramFiles64Folder/Acme Corp/App/app.exe"},
		{"[!core.dll] -x", "ProgramFiles64Folder/Acme Corp/App/lib/core.dll -x"},
		{"[INSTALLDIR]tool.exe", "ProgramFiles64Folder/Acme Corp/App/tool.exe"},
		{"[TARGETDIR]x", "x"},
		{"[UNKNOWN]x [#nofile]", "[UNKNOWN]x [#nofile]"},
		{"no refs [", "no refs ["},
	}
	for _, tt := range tests {
		if got := p.layout.expand(tt.in); got != tt.want {
			t.Errorf("expand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
