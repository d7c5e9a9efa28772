package baselines

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rollgate/rollgate/inventory"
)

func TestFileName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"msi-upgrade:{6D0C1B0A-3C10-4E4B-9A77-3CC0DE000001}", "msi-upgrade__6d0c1b0a-3c10-4e4b-9a77-3cc0de000001.json"},
		{"../../etc/passwd", "etc_passwd.json"},
		{"", "product.json"},
		{"bundle:com.acme.Phone", "bundle_com.acme.phone.json"},
	}
	for _, tt := range tests {
		if got := FileName(tt.in); got != tt.want {
			t.Errorf("FileName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWriteFindDeterministic(t *testing.T) {
	dir := t.TempDir()
	mk := func() *inventory.Inventory {
		return &inventory.Inventory{Schema: inventory.Schema, Format: "msi",
			Product: inventory.Product{Identity: "msi-upgrade:{X}", Name: "Acme"},
			Entries: []inventory.Entry{{Path: "b", SHA256: "2"}, {Path: "a", SHA256: "1", Imports: []string{"z.dll", "a.dll"}}}}
	}
	p1, err := Write(dir, New(mk(), nil))
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := os.ReadFile(p1)
	p2, err := Write(dir, New(mk(), nil))
	if err != nil {
		t.Fatal(err)
	}
	d2, _ := os.ReadFile(p2)
	if p1 != p2 || !bytes.Equal(d1, d2) {
		t.Fatalf("Write not deterministic: %s vs %s", p1, p2)
	}
	b, _, err := Find(dir, "msi-upgrade:{X}")
	if err != nil {
		t.Fatal(err)
	}
	if b.Inventory.Entries[0].Path != "a" || b.Inventory.Entries[0].Imports[0] != "a.dll" {
		t.Errorf("Find: entries not sorted: %+v", b.Inventory.Entries)
	}
	if _, _, err := Find(dir, "msi-upgrade:{Y}"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Find(missing) = %v, want ErrNotFound", err)
	}
	// a file renamed by hand is still found by the identity it declares
	os.Rename(p1, filepath.Join(dir, "renamed.json"))
	if _, p, err := Find(dir, "msi-upgrade:{X}"); err != nil || filepath.Base(p) != "renamed.json" {
		t.Errorf("Find(renamed) = %q, %v", p, err)
	}
}

func TestProfileDeterministic(t *testing.T) {
	run := func(ms int64, order bool) *inventory.Behaviour {
		ev := []inventory.NetEvent{{MS: ms, Proto: "dns", Name: "a.test"}, {MS: ms + 5, Proto: "tcp", Name: "a.test", Addr: "198.51.100.1", Port: 443}, {MS: ms + 9, Proto: "dns", Name: "a.test"}}
		if order {
			ev[0], ev[1] = ev[1], ev[0]
		}
		return &inventory.Behaviour{Ran: true, Network: ev,
			DLLLoads: []inventory.DLLLoad{{Path: `C:\b.dll`, Process: "x"}, {Path: `C:\a.dll`, Process: "y"}, {Path: `C:\a.dll`, Process: "y"}}}
	}
	inv := &inventory.Inventory{Product: inventory.Product{Identity: "p"}}
	a, _ := Marshal(New(inv, run(100, false)))
	b, _ := Marshal(New(inv, run(7000, true)))
	if !bytes.Equal(a, b) {
		t.Errorf("baselines of two runs differ:\n%s\n%s", a, b)
	}
	p := Profile(run(1, false))
	if len(p.Network) != 2 || len(p.DLLLoads) != 2 {
		t.Errorf("Profile kept duplicates: %+v", p)
	}
}

func TestProfileKeepsRegistry(t *testing.T) {
	run := &inventory.Behaviour{Ran: true, ClockOffsets: []int64{691200},
		Registry: []inventory.RegistryValue{
			{Key: `HKLM\Software\Microsoft\Windows\CurrentVersion\Run`, Name: "B", Value: `"b.exe"`, Kind: "added", Phase: "install"},
			{Key: `HKCU\Software\Microsoft\Windows\CurrentVersion\Run`, Name: "A", Value: `"a.exe"`, Kind: "added", Phase: "run", ClockOffset: 691200},
			{Key: `HKLM\Software\Microsoft\Windows\CurrentVersion\Run`, Name: "B", Value: `"b.exe"`, Kind: "added", Phase: "install"},
		}}
	p := Profile(run)
	want := []inventory.RegistryValue{run.Registry[1], run.Registry[0]}
	if !slices.Equal(p.Registry, want) || !slices.Equal(p.ClockOffsets, []int64{691200}) {
		t.Errorf("Profile registry = %+v, offsets %v; want %+v, [691200]", p.Registry, p.ClockOffsets, want)
	}
}

func TestWriteRefusesCollision(t *testing.T) {
	dir := t.TempDir()
	a := &inventory.Inventory{Product: inventory.Product{Identity: "msi-name:Acme Phone"}}
	b := &inventory.Inventory{Product: inventory.Product{Identity: "msi-name:Acme_Phone"}}
	if FileName(a.Product.Identity) != FileName(b.Product.Identity) {
		t.Fatal("test needs two identities with one file name")
	}
	if _, err := Write(dir, New(a, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(dir, New(b, nil)); !errors.Is(err, ErrCollision) {
		t.Errorf("Write(colliding identity) = %v, want ErrCollision", err)
	}
	if _, err := Write(dir, New(a, nil)); err != nil {
		t.Errorf("Write(same identity again) = %v, want nil", err)
	}
}

// TestWriteMode: a baseline is a reviewed file in a repository, readable by every user.
func TestWriteMode(t *testing.T) {
	dir := t.TempDir()
	inv := &inventory.Inventory{Product: inventory.Product{Identity: "msi-name:Acme Phone"}}
	for _, round := range []string{"new", "replaced"} {
		p, err := Write(dir, New(inv, nil))
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != FileMode {
			t.Errorf("%s baseline mode = %v, want %v", round, got, os.FileMode(FileMode))
		}
	}
}
