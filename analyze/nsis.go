package analyze

import (
	"fmt"
	"io"
	"strings"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack/nsis"
)

// NSIS installers carry their data in the setup stub's overlay; analyze finds them there
// (overlayFormat) and lists the files at their $INSTDIR-relative install paths.
var NSIS = Format{"nsis", openNSIS}

// openNSIS opens an NSIS installer. Its script facts meet the rules MSI tables meet: registry
// writes are Registry rows (so an autostart value is msi.autostart-added), and every Exec and
// download is a custom action (so a new one is msi.custom-action-added, high). The product
// is the uninstall key the script registers, never the file name.
func openNSIS(a *Analyzer, f io.ReaderAt, size int64, name string, dir string) (*container, error) {
	r, err := nsis.NewReader(f, size)
	if err != nil {
		return nil, err
	}
	c := &container{format: "nsis", walker: r, close: func() error { return nil }}
	c.describe = func(inv *inventory.Inventory, self *inventory.Entry) error {
		s := r.Script()
		if u := s.Uninstall; u != nil && u.Name != "" {
			inv.Product = inventory.Product{Identity: "nsis-uninstall:" + strings.ToLower(u.Name),
				Name: u.DisplayName, Version: u.DisplayVersion, Manufacturer: u.Publisher}
		}
		tables := &inventory.MSITables{}
		for i, w := range s.Registry {
			tables.Registry = append(tables.Registry, inventory.RegistryRow{ID: fmt.Sprintf("nsis-%d", i),
				Root: registryRoot(w.Root), Key: w.Key, Name: w.Name, Value: w.Value})
		}
		inv.MSI = tables
		for _, e := range s.Execs {
			inv.CustomActions = append(inv.CustomActions, inventory.CustomAction{
				Action: e.Kind + " " + e.Command, Source: e.Verb, Target: strings.TrimSpace(e.Command + " " + e.Params)})
		}
		for _, d := range s.Downloads {
			inv.CustomActions = append(inv.CustomActions, inventory.CustomAction{
				Action: d.Plugin + " " + d.URL, Source: d.URL, Target: d.Dest})
		}
		if s.Partial != "" {
			inv.Notes = append(inv.Notes, "NSIS script facts may be incomplete: "+s.Partial)
		}
		return nil
	}
	return c, nil
}

// registryRoot maps an NSIS root to the Registry table's: SHCTX (per-machine or per-user, by
// the install mode) is -1 like MSI's; a forced 32/64-bit view keeps its hive.
func registryRoot(root string) int {
	switch strings.TrimSuffix(strings.TrimSuffix(root, "32"), "64") {
	case "HKCR":
		return 0
	case "HKCU":
		return 1
	case "HKLM":
		return 2
	case "HKU":
		return 3
	}
	return -1
}
