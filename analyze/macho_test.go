package analyze

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/inventory"
)

// TestBareMachO inventories Mach-O files given alone (they were refused as not installers):
// one entry of kind macho, format "macho"; without verifiers the signature reads not-checked.
func TestBareMachO(t *testing.T) {
	for _, s := range []string{"macho/relic-fatfile-dummy", "macho/relic-slimfile-dummyapp"} {
		t.Run(s, func(t *testing.T) {
			inv, err := unsafeAnalyzer(t).Installer(context.Background(), testutil.Sample(t, s))
			if err != nil {
				t.Fatalf("Installer = %v", err)
			}
			if inv.Format != "macho" || len(inv.Entries) != 1 || inv.Entries[0].Kind != inventory.KindMachO {
				t.Fatalf("Installer = format %q, %d entries, want one macho entry", inv.Format, len(inv.Entries))
			}
			if st := inv.Entries[0].Signature; st == nil || st.State != inventory.SigNotChecked {
				t.Errorf("Signature = %+v, want not-checked", st)
			}
		})
	}
}

func TestMachOProduct(t *testing.T) {
	tests := []struct {
		name string
		e    inventory.Entry
		want inventory.Product
	}{
		{"signed", inventory.Entry{Version: "2.0", MachO: &inventory.MachO{Identifier: "com.acme.tool"}, Signature: &inventory.Signature{State: inventory.SigSigned, TeamID: "ABCDE12345"}},
			inventory.Product{Identity: "macho-id:com.acme.tool", Name: "com.acme.tool", BundleID: "com.acme.tool", Manufacturer: "ABCDE12345", Version: "2.0"}},
		{"unsigned", inventory.Entry{MachO: &inventory.MachO{}, Signature: &inventory.Signature{State: inventory.SigUnsigned}}, inventory.Product{}},
		{"not read", inventory.Entry{}, inventory.Product{}},
	}
	for _, tt := range tests {
		if d := cmp.Diff(tt.want, machoProduct(&tt.e)); d != "" {
			t.Errorf("%s: machoProduct (-want +got)\n%s", tt.name, d)
		}
	}
}
