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
// none of them. An MsiPackage's MsiProperty TRANSFORMS naming transforms the bundle carries as
// payloads of the package is judged with them applied, in order (nested applies them with
// unpack/msi before the MSI's tables are read), so a Run value or custom action a transform
// adds is the bundle's; a transform the bundle does not carry for the package is a Skip.
// Every MspPackage the bundle carries (a SlipstreamMsp names one) is applied, as unpack/msi
// reads patches, to each MsiPackage whose ProductCode it targets, so the Run values, custom
// actions and files it adds are judged as that MSI's; a binary delta it carries is a Skip,
// and so is a patch that applies to no carried MSI. An MsiProperty PATCH is a Skip. A
// payload the bundle does not carry (external, downloaded, in a detached container) is a
// Skip: analysis.incomplete, never a pass. The product is the bundle's upgrade code, never the file name.
var Burn = Format{"burn", openBurn}

func openBurn(a *Analyzer, f io.ReaderAt, size int64, name string, dir string) (*container, error) {
	r, err := burn.NewReader(f, size)
	if err != nil {
		return nil, err
	}
	c := &container{format: "burn", walker: r, close: r.Close, runsPackages: true, packages: map[string]string{},
		transforms: map[string][]string{}, fsys: r}
	for _, p := range r.Manifest.Chain.Packages {
		if len(p.Payloads) > 0 {
			if path := r.PayloadPath(p.Payloads[0].ID); path != "" {
				c.packages[path] = "burn-" + p.Kind() + "/" + p.ID
				if ts, why := transformsOf(r, p); why == "" && len(ts) > 0 {
					c.transforms[path] = ts
				}
				if p.Kind() == "MspPackage" {
					c.patches = append(c.patches, patchRef{path, fmt.Sprintf("Burn MspPackage %q", p.ID)})
				}
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
			if ts := c.transforms[packagePath(r, p)]; len(ts) > 0 {
				inv.Notes = append(inv.Notes, fmt.Sprintf("Burn %s %q is judged with the transforms %s applied (MsiProperty TRANSFORMS)", p.Kind(), p.ID, strings.Join(ts, ", ")))
			}
			if why := patchedBy(r, p); why != "" {
				inv.Skipped = append(inv.Skipped, inventory.Skip{Path: firstNonEmpty(packagePath(r, p), "burn-"+p.Kind()+"/"+p.ID),
					Reason: fmt.Sprintf("Burn %s %q %s, so what it changes was not inventoried", p.Kind(), p.ID, why)})
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

// patchedBy says how a chain package changes an MSI in a way rollgate does not read (an
// MsiProperty PATCH the engine passes to msiexec, an MsiProperty TRANSFORMS naming a
// transform the bundle does not carry for the package), "" when it does not. MspPackages
// (and the SlipstreamMsps naming them) are applied to the MSIs they target as the bundle is
// walked; one that applies to none is a Skip there (walkInto).
func patchedBy(r *burn.Reader, p burn.Package) string {
	for _, pr := range p.Properties {
		if strings.EqualFold(pr.ID, "PATCH") {
			return fmt.Sprintf("passes msiexec PATCH=%q; rollgate does not apply MSP patches", pr.Value)
		}
	}
	if _, why := transformsOf(r, p); why != "" {
		return why
	}
	return ""
}

// cacheFolder is the Burn variable a package's MsiProperty values use for the folder its
// payloads are cached in.
const cacheFolder = "[WixBundleExecutePackageCacheFolder]"

// transformsOf resolves an MsiPackage's MsiProperty TRANSFORMS (msiexec's ';'-separated list)
// to the exposed paths of the payloads of the package that hold them: Burn caches a
// package's payloads in one folder at their FilePath and runs msiexec there. why is not
// empty when an item is not such a payload: a file the bundle does not carry for the package,
// a transform embedded in the MSI (":name"), a property value set at run time.
func transformsOf(r *burn.Reader, p burn.Package) (paths []string, why string) {
	var value string
	for _, pr := range p.Properties {
		if strings.EqualFold(pr.ID, "TRANSFORMS") {
			value = pr.Value
		}
	}
	if value == "" || p.Kind() != "MsiPackage" || len(p.Payloads) == 0 {
		return nil, ""
	}
	own := map[string]string{} // FilePath, folded → exposed path
	for _, pl := range p.Payloads[1:] {
		if path := r.PayloadPath(pl.ID); path != "" {
			own[strings.ToUpper(path)] = path
		}
	}
	for _, item := range strings.Split(value, ";") {
		name := strings.TrimPrefix(strings.TrimPrefix(item, "@"), "|")
		if len(name) >= len(cacheFolder) && strings.EqualFold(name[:len(cacheFolder)], cacheFolder) {
			name = name[len(cacheFolder):]
		}
		name = strings.ReplaceAll(name, `\`, "/")
		path, ok := own[strings.ToUpper(name)]
		if !ok || strings.ContainsAny(name, "[]:") {
			return nil, fmt.Sprintf("passes msiexec TRANSFORMS=%q; %q is not a payload the bundle carries for the package", value, item)
		}
		paths = append(paths, path)
	}
	return paths, ""
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
