package msi

import (
	"sort"
	"strings"
)

// Streams every MSI carries that no table row names: the string pool, the meta tables, and
// the property sets and Authenticode signature streams of the compound file ([MS-OLEPS]
// summary information, the MsiDigitalSignatureEx and DigitalSignature streams that
// verify/authenticode reads).
var knownStreams = map[string]bool{
	streamStringPool:                 true,
	streamStringData:                 true,
	"!_Tables":                       true,
	"!_Columns":                      true,
	streamSummary:                    true,
	"\x05DocumentSummaryInformation": true,
	"\x05DigitalSignature":           true,
	"\x05MsiDigitalSignatureEx":      true,
}

// findOrphans lists the root streams nothing accounts for: not a table's stream, not a
// cabinet the Media table names, not a stream a binary column names (Binary, Icon,
// MsiDigitalCertificate, ...), not one of knownStreams. Windows Installer never reads them,
// but a custom action or a later stage can, so their bytes are inventoried under OrphanRoot.
func (p *Package) findOrphans(l *layout) error {
	used := map[string]bool{}
	for _, c := range l.cabs {
		if strings.HasPrefix(c.name, embeddedPrefix) {
			used[c.name[len(embeddedPrefix):]] = true
		}
	}
	for _, name := range p.tableNames {
		used["!"+name] = true
		hasBinary := false
		for _, c := range p.schema[name] {
			hasBinary = hasBinary || c.Type.IsBinary()
		}
		if !hasBinary {
			continue
		}
		t, err := p.Table(name)
		if err != nil {
			return err
		}
		for ci, c := range t.Columns {
			if !c.Type.IsBinary() {
				continue
			}
			for _, row := range t.Rows {
				if sn, ok := row[ci].(string); ok {
					used[sn] = true
				}
			}
		}
	}
	var names []string
	for n := range p.streams {
		if !used[n] && !knownStreams[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		e := p.streams[n]
		b := &binStream{key: n, path: OrphanRoot + "/" + sanitize(n), size: e.Size, e: e}
		if err := l.budget.spend("_Streams", n, b.path); err != nil {
			return err
		}
		l.orphans = append(l.orphans, b)
	}
	if len(l.orphans) > MaxFiles {
		return p.limitErr("_Streams", "%d unreferenced streams exceed the limit of %d", len(l.orphans), MaxFiles)
	}
	return nil
}

// Orphans returns the root streams no table or reference accounts for, as Binary values
// whose Name is the decoded stream name and Path its fs.FS path under OrphanRoot.
func (p *Package) Orphans() []Binary {
	out := make([]Binary, 0, len(p.layout.orphans))
	for _, b := range p.layout.orphans {
		out = append(out, Binary{Name: b.key, Path: b.path, Size: b.size})
	}
	return out
}
