package analyze

import (
	"context"
	"errors"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// TestSideFSNames: every name an MSI reader asks the installer's folder for is listed, found
// or not, so a baseline never takes an inventory read from side files as the bytes' own.
func TestSideFSNames(t *testing.T) {
	s := &sideFS{fsys: fstest.MapFS{"b.cab": {Data: []byte("x")}}}
	if _, err := s.Open("b.cab"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open("a.cab"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open(a.cab) = %v, want ErrNotExist", err)
	}
	if _, err := fs.Stat(s, "b.cab"); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"a.cab", "b.cab"}, s.Names()); d != "" {
		t.Errorf("Names (-want +got)\n%s", d)
	}
	var none *sideFS
	if got := none.Names(); got != nil {
		t.Errorf("nil sideFS Names = %v, want nil", got)
	}
}

// TestInstallerSideFilesNone: an MSI with embedded cabinets reads nothing beside itself.
func TestInstallerSideFilesNone(t *testing.T) {
	a, err := New(Options{SkipSignaturesUnsafe: true, Formats: DefaultFormats()})
	if err != nil {
		t.Fatal(err)
	}
	inv, side, err := a.InstallerSideFiles(context.Background(), "../testdata/fixtures/win/acme-1.0.msi")
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Entries) < 2 {
		t.Fatalf("inventory has %d entries, want the installer and its files", len(inv.Entries))
	}
	if len(side) != 0 {
		t.Errorf("InstallerSideFiles side files = %q, want none", side)
	}
}
