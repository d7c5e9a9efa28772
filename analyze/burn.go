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
// value an embedded MSI writes is msi.autostart-added; every ExePackage, MsuPackage,
// BundlePackage and MspPackage is a custom action (its payload and command line), so a new
// one is msi.custom-action-added; an embedded MSI's own custom actions are listed under its
// package ("burn-MsiPackage/ID/Action"), so renaming the MSI file between releases changes
// none of them. rollgate does not apply MSP patches or MST transforms, whose tables can add
// custom actions and Run values: an MspPackage, an MsiPackage's SlipstreamMsp and an
// MsiProperty TRANSFORMS or PATCH are each a Skip. A payload the bundle does not carry
// (external, downloaded, in a detached container) is a Skip: analysis.incomplete, never a
// pass. The product is the bundle's upgrade code, never the file name.
var Burn = Format{"burn", openBurn}

func openBurn(a *Analyzer, f io.ReaderAt, size int64, name string, dir string) (*container, error) {
	r, err := burn.NewReader(f, size)
	if err != nil {
		return nil, err
	}
	c := &container{format: "burn", walker: r, close: r.Close, runsPackages: true, packages: map[string]string{}}
	for _, p := range r.Manifest.Chain.Packages {
		if len(p.Payloads) > 0 {
			if path := r.PayloadPath(p.Payloads[0].ID); path != "" {
				c.packages[path] = "burn-" + p.Kind() + "/" + p.ID
			}
		}
	}
	c.describe = func(inv *inventory.Inventory, self *inventory.Entry) error {
		m := r.Manifest
		arp := m.Registration.Arp
		if up := m.UpgradeCode(); up != "" {
			inv.Product = inventory.Product{Identity: "burn-bundle:" + strings.ToLower(up), UpgradeCode: up,
				Name: arp.DisplayName, Version: firstNonEmpty(m.Registration.Version, arp.DisplayVersion),
				Manufacturer: arp.Publisher, ProductCode: r.Section.BundleID} // the per-build bundle id, as an MSI ProductCode
		}
		for _, p := range m.Chain.Packages {
			if why := patchedBy(p); why != "" {
				inv.Skipped = append(inv.Skipped, inventory.Skip{Path: firstNonEmpty(packagePath(r, p), "burn-"+p.Kind()+"/"+p.ID),
					Reason: fmt.Sprintf("Burn %s %q %s; rollgate does not read MSP patches or MST transforms, so what they change was not inventoried", p.Kind(), p.ID, why)})
			}
			switch p.Kind() {
			case "ExePackage", "MsuPackage", "BundlePackage", "MspPackage":
			default:
				continue // MSI packages are judged by their own tables
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
			if ms.LayoutOnly {
				// No chain package references it (the reader checks): copied by a /layout run,
				// never installed, so not a gap in what installs.
				inv.Notes = append(inv.Notes, fmt.Sprintf("Burn layout-only payload %q (%s, %s) is not in the bundle; the engine never installs it", ms.Payload, ms.FilePath, what))
				continue
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

// packagePath is the exposed path of a package's own payload, "" when it is not carried.
func packagePath(r *burn.Reader, p burn.Package) string {
	if len(p.Payloads) == 0 {
		return ""
	}
	return r.PayloadPath(p.Payloads[0].ID)
}

// patchedBy says how a chain package changes an MSI through a patch or transform (an MspPackage
// itself, an MsiPackage's SlipstreamMsp, an MsiProperty TRANSFORMS or PATCH the engine passes
// to msiexec), "" when it does not. An MSP or MST is a compound file whose tables change the
// MSI's (custom actions, Run values) and is not an MSI itself.
func patchedBy(p burn.Package) string {
	if p.Kind() == "MspPackage" {
		return "is a patch (MSP " + firstNonEmpty(p.PatchCode, "with no PatchCode") + ")"
	}
	if len(p.SlipstreamMsps) > 0 {
		return fmt.Sprintf("slipstreams the patch %q", p.SlipstreamMsps[0].ID)
	}
	for _, pr := range p.Properties {
		if strings.EqualFold(pr.ID, "TRANSFORMS") || strings.EqualFold(pr.ID, "PATCH") {
			return fmt.Sprintf("passes msiexec %s=%q", strings.ToUpper(pr.ID), pr.Value)
		}
	}
	return ""
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// burnContainers returns the file ranges of a Burn bundle's containers present in the file:
// their payloads are inventoried (and scanned) one by one, so the compressed bytes are not the
// stub's own strings. Anything else after the stub (signatures, bytes between or after the
// containers) is still scanned as the stub's.
func burnContainers(e *inventory.Entry, ra io.ReaderAt, size int64) [][2]int64 {
	if e.Overlay == nil || e.Overlay.Format != "burn" {
		return nil
	}
	sec, err := burn.ReadSection(ra, size)
	if err != nil {
		return nil
	}
	var out [][2]int64
	for _, c := range sec.Containers {
		if c.Present {
			out = append(out, [2]int64{c.Offset, c.Offset + c.Size})
		}
	}
	return out
}
