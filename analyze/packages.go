package analyze

import "github.com/rollgate/rollgate/inventory"

// packageFacts gathers what the packages a container runs contribute to the installer's own
// facts (a Burn bundle's MSIs): their MSI tables, shortcuts, and the parts of them that were
// not inventoried. Row ids are prefixed with the package's inventory path so two packages'
// rows stay apart; the rules match registry values by location, not by id.
type packageFacts struct {
	tables    *inventory.MSITables
	shortcuts []inventory.Shortcut
	skipped   []inventory.Skip
	// products are the nested packages' own products, by their inventory path.
	products map[string]inventory.Product
}

// setProduct records the product of the package at path.
func (p *packageFacts) setProduct(path string, prod inventory.Product) {
	if prod.Identity == "" {
		return
	}
	if p.products == nil {
		p.products = map[string]inventory.Product{}
	}
	p.products[path] = prod
}

// add takes a nested package's facts (described into sub) found at prefix.
func (p *packageFacts) add(prefix string, sub *inventory.Inventory) {
	p.shortcuts = append(p.shortcuts, sub.Shortcuts...)
	t := sub.MSI
	if t == nil {
		return
	}
	if p.tables == nil {
		p.tables = &inventory.MSITables{}
	}
	d := p.tables
	for _, v := range t.Registry {
		v.ID = prefix + v.ID
		d.Registry = append(d.Registry, v)
	}
	for _, v := range t.Services {
		v.ID = prefix + v.ID
		d.Services = append(d.Services, v)
	}
	for _, v := range t.ServiceControls {
		v.ID = prefix + v.ID
		d.ServiceControls = append(d.ServiceControls, v)
	}
	for _, v := range t.IniFiles {
		v.ID = prefix + v.ID
		d.IniFiles = append(d.IniFiles, v)
	}
	for _, v := range t.RemoveFiles {
		v.ID = prefix + v.ID
		d.RemoveFiles = append(d.RemoveFiles, v)
	}
	d.SelfReg = append(d.SelfReg, t.SelfReg...)
	for _, v := range t.COMServers {
		v.ID = prefix + v.ID
		d.COMServers = append(d.COMServers, v)
	}
	for _, v := range t.Environment {
		v.ID = prefix + v.ID
		d.Environment = append(d.Environment, v)
	}
	d.Fonts = append(d.Fonts, t.Fonts...)
	d.ODBCDrivers = append(d.ODBCDrivers, t.ODBCDrivers...)
	// FileCopies name install paths of the package's own file table and OrphanStreams are
	// already entries under prefix: neither is the bundle's.
}

// addSkipped records a nested reader's gaps under prefix.
func (p *packageFacts) addSkipped(prefix string, s []inventory.Skip) {
	for _, sk := range s {
		sk.Path = prefix + sk.Path
		p.skipped = append(p.skipped, sk)
	}
}

// merge takes a nested run's facts.
func (p *packageFacts) merge(o *packageFacts) {
	if o.tables != nil {
		if p.tables == nil {
			p.tables = &inventory.MSITables{}
		}
		p.add("", &inventory.Inventory{MSI: o.tables})
	}
	p.shortcuts = append(p.shortcuts, o.shortcuts...)
	p.skipped = append(p.skipped, o.skipped...)
	for path, prod := range o.products {
		p.setProduct(path, prod)
	}
}

// mergeInto adds the gathered facts to the installer's inventory.
func (p *packageFacts) mergeInto(inv *inventory.Inventory) {
	if p.tables != nil {
		if inv.MSI == nil {
			inv.MSI = &inventory.MSITables{}
		}
		tmp := packageFacts{tables: inv.MSI}
		tmp.add("", &inventory.Inventory{MSI: p.tables})
	}
	inv.Shortcuts = append(inv.Shortcuts, p.shortcuts...)
	inv.Skipped = append(inv.Skipped, p.skipped...)
}
