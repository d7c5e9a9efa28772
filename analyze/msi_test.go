package analyze

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
)

func TestMSIFileCopies(t *testing.T) {
	evil := inventory.Entry{Path: "PF/Acme/plugins/evil.dll", SHA256: "e1", Kind: inventory.KindPE, Version: "1.0",
		Signature: &inventory.Signature{State: inventory.SigUnsigned}}
	core := inventory.Entry{Path: "PF/Acme/core.dll", SHA256: "c1", Kind: inventory.KindPE}
	copyOfEvil := evil
	copyOfEvil.Path, copyOfEvil.CopyOf = "PF/Acme/version.dll", evil.Path
	tests := []struct {
		name    string
		copies  []inventory.FileCopy
		want    []inventory.Entry
		wantErr error
	}{
		{"duplicate", []inventory.FileCopy{{Table: "DuplicateFile", ID: "d", Source: evil.Path, Destination: "PF/Acme/version.dll"}},
			[]inventory.Entry{core, evil, copyOfEvil}, nil},
		{"file of the machine", []inventory.FileCopy{{Table: "MoveFile", ID: "m", Source: "[ETC]hosts", Destination: "ETC/hosts.bak"}},
			[]inventory.Entry{core, evil}, nil},
		{"no destination", []inventory.FileCopy{{Table: "MoveFile", ID: "m", Source: evil.Path}},
			[]inventory.Entry{core, evil}, nil},
		{"over an entry", []inventory.FileCopy{{Table: "DuplicateFile", ID: "d", Source: evil.Path, Destination: core.Path}},
			nil, unpack.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := &inventory.Inventory{Format: "msi", Entries: []inventory.Entry{core, evil}, MSI: &inventory.MSITables{FileCopies: tt.copies}}
			err := msiFileCopies(inv, nil)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("msiFileCopies = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, inv.Entries); d != "" {
				t.Errorf("entries (-want +got)\n%s", d)
			}
		})
	}
}
