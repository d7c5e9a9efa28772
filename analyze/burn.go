package analyze

import (
	"fmt"
	"io"
	"strings"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack/burn"
)

// Burn reads WiX Burn bundles. analyze finds them by the stub's .wixburn section
// (peOverlay names the overlay "burn") and lists the payloads at their manifest FilePath, the
// bootstrapper application under "(ux)/". The packages of the chain are nested containers
// the engine runs: their MSI tables are merged into the bundle's (runsPackages), so a Run
// value an embedded MSI writes is msi.autostart-added; every ExePackage, MsuPackage and
// BundlePackage is a custom action (its payload and command line), so a new one is
// msi.custom-action-added. A payload the bundle does not carry (external, downloaded, in a
// detached container) is a Skip: analysis.incomplete, never a pass. The product is the
// bundle's upgrade code, never the file name.
var Burn = Format{"burn", openBurn}

func openBurn(a *Analyzer, f io.ReaderAt, size int64, name string, dir string) (*container, error) {
	r, err := burn.NewReader(f, size)
	if err != nil {
		return nil, err
	}
	c := &container{format: "burn", walker: r, close: r.Close, runsPackages: true}
	c.describe = func(inv *inventory.Inventory, self *inventory.Entry) error {
		m := r.Manifest
		arp := m.Registration.Arp
		if up := m.UpgradeCode(); up != "" {
			inv.Product = inventory.Product{Identity: "burn-bundle:" + strings.ToLower(up), UpgradeCode: up,
				Name: arp.DisplayName, Version: firstNonEmpty(m.Registration.Version, arp.DisplayVersion),
				Manufacturer: arp.Publisher, BundleID: r.Section.BundleID}
		}
		for _, p := range m.Chain.Packages {
			switch p.Kind() {
			case "ExePackage", "MsuPackage", "BundlePackage":
			default:
				continue // MSI and MSP packages are judged by their own tables
			}
			var src string
			if len(p.Payloads) > 0 {
				src = firstNonEmpty(r.PayloadPath(p.Payloads[0].ID), "(not carried) "+p.Payloads[0].ID)
			}
			args := p.InstallArguments
			for _, cl := range p.CommandLines {
				if cl.InstallArgument != "" {
					args += fmt.Sprintf(" [%s ? %s]", cl.Condition, cl.InstallArgument)
				}
			}
			inv.CustomActions = append(inv.CustomActions, inventory.CustomAction{
				Action: "burn-" + p.Kind() + "/" + p.ID, Source: src, Target: strings.TrimSpace(args)})
		}
		for _, ms := range r.Missing {
			what := ms.Packaging
			if ms.URL != "" {
				what += " from " + ms.URL
			}
			inv.Skipped = append(inv.Skipped, inventory.Skip{Path: strings.ReplaceAll(ms.FilePath, `\`, "/"),
				Reason: fmt.Sprintf("Burn payload %q is not in the bundle (%s): its content was not inventoried", ms.Payload, what)})
		}
		if inv.MSI == nil {
			inv.MSI = &inventory.MSITables{} // the chain's MSI tables are merged into it
		}
		return nil
	}
	return c, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
