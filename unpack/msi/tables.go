package msi

// Readers for the tables that place files, write the registry or start code beside the File
// table. Column names and semantics follow the Windows Installer SDK table reference
// (Registry, ServiceInstall, ServiceControl, DuplicateFile, MoveFile, IniFile, RemoveFile,
// SelfReg, Class, TypeLib, AppId, Environment, Font, ODBCDriver). A missing table is normal
// and reads as no rows. Formatted text ("[#filekey]", "[DIRPROP]") is expanded where it names
// a file or a directory of this package; anything else is kept as written.

import (
	"fmt"
	"path"
	"strings"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
)

// Limits of the table readers.
const (
	// MaxTableRows bounds the rows one table reader returns.
	MaxTableRows = 1 << 16
	// MaxValueBytes bounds one text value after formatted references are expanded; a longer
	// value is kept as written, clipped to this many bytes with a marker. No value Windows
	// acts on (a command line, a path) is longer than 32767 characters.
	MaxValueBytes = 1 << 15
	// MaxTablesText bounds the text all table readers of one package return together: the
	// same long pool string referenced from every row would otherwise be copied per row.
	MaxTablesText = 16 << 20
	// MaxMatchSteps bounds the file-name comparisons MoveFile wildcards cost together.
	MaxMatchSteps = 1 << 22
)

// OrphanRoot is the first path element of compound-file streams that no table, string pool,
// cabinet reference, binary column or summary/signature stream accounts for.
const OrphanRoot = "(orphan-stream)"

// clipMarker ends a value clipped to MaxValueBytes.
const clipMarker = "…[clipped]"

// rowsOf decodes a table for a reader: nil when the database has no such table or it has no
// rows, an ErrLimit FormatError when it has more than MaxTableRows rows.
func (p *Package) rowsOf(name string) (*Table, error) {
	if !p.hasTable(name) {
		return nil, nil
	}
	t, err := p.Table(name)
	if err != nil {
		return nil, err
	}
	if len(t.Rows) > MaxTableRows {
		return nil, p.limitErr(name, "%d rows exceed the limit of %d", len(t.Rows), MaxTableRows)
	}
	if len(t.Rows) == 0 {
		return nil, nil
	}
	return t, nil
}

// clip bounds a raw value to MaxValueBytes and counts it against MaxTablesText; past that
// budget it returns "" and the reader reports ErrLimit (textErr).
func (l *layout) clip(s string) string {
	if len(s) > MaxValueBytes {
		s = s[:MaxValueBytes] + clipMarker
	}
	return l.spend(s)
}

func (l *layout) spend(s string) string {
	l.text += len(s)
	if l.text > MaxTablesText {
		return ""
	}
	return s
}

// textErr is the ErrLimit for a package whose table text passed MaxTablesText.
func (p *Package) textErr(table string) error {
	if p.layout.text <= MaxTablesText {
		return nil
	}
	return p.limitErr(table, "table text exceeds %d bytes", MaxTablesText)
}

// format expands a formatted value's file and directory references, bounded by MaxValueBytes
// (a value whose expansion is longer is kept as written) and counted like clip.
func (l *layout) format(s string) string {
	if len(s) > MaxValueBytes || l.text > MaxTablesText {
		return l.clip(s)
	}
	out, ok := l.expandN(s, MaxValueBytes)
	if !ok {
		return l.clip(s)
	}
	return l.spend(out)
}

// expandN is expand with a bound on the output: ok is false when the expansion would pass
// max bytes.
func (l *layout) expandN(s string, max int) (string, bool) {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '[')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], ']')
		if j < 0 {
			break
		}
		ref := s[i+1 : i+j]
		b.WriteString(s[:i])
		switch {
		case (strings.HasPrefix(ref, "#") || strings.HasPrefix(ref, "!")) && l.byKey[ref[1:]] != nil:
			b.WriteString(l.byKey[ref[1:]].InstallPath)
		case l.dirs[ref] != "" || ref == rootDir:
			if d := l.dirs[ref]; d != "" {
				b.WriteString(d + "/")
			}
		default:
			b.WriteString(s[i : i+j+1])
		}
		if b.Len() > max {
			return "", false
		}
		s = s[i+j+1:]
	}
	if b.Len()+len(s) > max {
		return "", false
	}
	b.WriteString(s)
	return b.String(), true
}

// dirOf resolves a folder property: a Directory id of this package gives its install path;
// anything else (a property set at run time) is kept as its name, ok false.
func (l *layout) dirOf(prop string) (dir string, ok bool) {
	if d, found := l.dirs[prop]; found {
		return d, true
	}
	return sanitize(prop), false
}

// keyFile is the install path of a component's key path file, "" when it has none.
func (l *layout) keyFile(comp string) string {
	if f, ok := l.byKey[l.keyPath[comp]]; ok {
		return f.InstallPath
	}
	return ""
}

// fileOrKey is a File key's install path, or the key itself when no File row has it,
// counted against MaxTablesText.
func (l *layout) fileOrKey(key string) string {
	if f, ok := l.byKey[key]; ok {
		return l.spend(f.InstallPath)
	}
	return l.spend(key)
}

// str is a table cell clipped and counted against MaxTablesText.
func (p *Package) str(t *Table, row int, col string) string { return p.layout.clip(t.Str(row, col)) }

// Registry returns the Registry table rows; Value has its file and folder references
// expanded.
func (p *Package) Registry() ([]inventory.RegistryRow, error) {
	t, err := p.rowsOf("Registry")
	if t == nil || err != nil {
		return nil, err
	}
	out := make([]inventory.RegistryRow, 0, len(t.Rows))
	for i := range t.Rows {
		root, _ := t.Int(i, "Root")
		out = append(out, inventory.RegistryRow{
			ID:        p.str(t, i, "Registry"),
			Root:      int(root),
			Key:       p.str(t, i, "Key"),
			Name:      p.str(t, i, "Name"),
			Value:     p.layout.format(p.str(t, i, "Value")),
			Component: p.str(t, i, "Component_"),
		})
	}
	return out, p.textErr("Registry")
}

// Services returns the ServiceInstall rows, each with the install path of the file it runs
// (its component's key path).
func (p *Package) Services() ([]inventory.Service, error) {
	t, err := p.rowsOf("ServiceInstall")
	if t == nil || err != nil {
		return nil, err
	}
	out := make([]inventory.Service, 0, len(t.Rows))
	for i := range t.Rows {
		typ, _ := t.Int(i, "ServiceType")
		start, _ := t.Int(i, "StartType")
		errc, _ := t.Int(i, "ErrorControl")
		comp := p.str(t, i, "Component_")
		out = append(out, inventory.Service{
			ID:           p.str(t, i, "ServiceInstall"),
			Name:         p.str(t, i, "Name"),
			DisplayName:  p.str(t, i, "DisplayName"),
			ServiceType:  int(typ),
			StartType:    int(start),
			ErrorControl: int(errc),
			Account:      p.str(t, i, "StartName"),
			Arguments:    p.layout.format(p.str(t, i, "Arguments")),
			Dependencies: p.str(t, i, "Dependencies"),
			Component:    comp,
			Binary:       p.layout.spend(p.layout.keyFile(comp)),
		})
	}
	return out, p.textErr("ServiceInstall")
}

// ServiceControls returns the ServiceControl rows.
func (p *Package) ServiceControls() ([]inventory.ServiceControl, error) {
	t, err := p.rowsOf("ServiceControl")
	if t == nil || err != nil {
		return nil, err
	}
	out := make([]inventory.ServiceControl, 0, len(t.Rows))
	for i := range t.Rows {
		ev, _ := t.Int(i, "Event")
		out = append(out, inventory.ServiceControl{
			ID:        p.str(t, i, "ServiceControl"),
			Name:      p.str(t, i, "Name"),
			Event:     int(ev),
			Arguments: p.layout.format(p.str(t, i, "Arguments")),
			Component: p.str(t, i, "Component_"),
		})
	}
	return out, p.textErr("ServiceControl")
}

// FileCopies returns the DuplicateFile and MoveFile rows. Source is the install path of the
// package file copied (a MoveFile row names a file already on the machine; it is resolved
// when its folder and name match a file this package installs, else kept as "[FOLDER]name");
// Destination is an install path in the namespace of the File table's, a run-time folder
// property standing for its folder.
//
// A copy that would land on a file the File table installs, on another copy, or inside the
// namespace of Binary streams, cabinet entries and orphan streams is refused (ErrUnsupported),
// as two File rows on one path are: which bytes end up there is not decidable here.
func (p *Package) FileCopies() ([]inventory.FileCopy, error) {
	var out []inventory.FileCopy
	l := p.layout
	t, err := p.rowsOf("DuplicateFile")
	if err != nil {
		return nil, err
	}
	if t != nil {
		for i := range t.Rows {
			key, fileKey := p.str(t, i, "FileKey"), p.str(t, i, "File_")
			fc := inventory.FileCopy{Table: "DuplicateFile", ID: key, Component: p.str(t, i, "Component_"), Source: fileKey}
			src, ok := l.byKey[fileKey]
			var dir string
			if prop := p.str(t, i, "DestFolder"); prop != "" {
				dir, _ = l.dirOf(prop)
			} else if ok {
				dir = path.Dir(src.InstallPath) // null DestFolder: beside the original
				if dir == "." {
					dir = ""
				}
			}
			name := longName(p.str(t, i, "DestName"))
			if ok {
				fc.Source = l.spend(src.InstallPath)
				if name == "" {
					name = path.Base(src.InstallPath)
				}
			}
			if name == "" {
				name = sanitize(fileKey)
			}
			if err := checkElem("DuplicateFile", key, name); err != nil {
				return nil, err
			}
			fc.Destination = l.spend(joinPath(dir, sanitize(name)))
			out = append(out, fc)
		}
	}
	t, err = p.rowsOf("MoveFile")
	if err != nil {
		return nil, err
	}
	if t != nil {
		for i := range t.Rows {
			key := p.str(t, i, "FileKey")
			opts, _ := t.Int(i, "Options")
			srcName := longName(p.str(t, i, "SourceName"))
			srcProp := p.str(t, i, "SourceFolder")
			destDir, _ := l.dirOf(p.str(t, i, "DestFolder"))
			destName := longName(p.str(t, i, "DestName"))
			base := inventory.FileCopy{Table: "MoveFile", ID: key, Component: p.str(t, i, "Component_"), Move: opts&1 != 0,
				Source: "[" + p.layout.clip(srcProp) + "]" + p.layout.clip(srcName)}
			matches, ok := l.matchFiles(srcProp, srcName)
			if !ok {
				return nil, p.limitErr("MoveFile", "wildcard matching exceeds %d comparisons", MaxMatchSteps)
			}
			if len(matches) == 0 {
				name := destName
				if name == "" && !strings.ContainsAny(srcName, "*?") {
					name = srcName
				}
				if name != "" {
					if err := checkElem("MoveFile", key, name); err != nil {
						return nil, err
					}
					base.Destination = l.spend(joinPath(destDir, sanitize(name)))
				}
				out = append(out, base)
				continue
			}
			for _, f := range matches {
				fc := base
				fc.Source = l.spend(f.InstallPath)
				name := destName
				if name == "" || len(matches) > 1 {
					name = path.Base(f.InstallPath)
				}
				if err := checkElem("MoveFile", key, name); err != nil {
					return nil, err
				}
				fc.Destination = l.spend(joinPath(destDir, sanitize(name)))
				out = append(out, fc)
				if len(out) > MaxTableRows {
					return nil, p.limitErr("MoveFile", "file copies exceed the limit of %d", MaxTableRows)
				}
			}
		}
	}
	if len(out) > MaxTableRows {
		return nil, p.limitErr("MoveFile", "%d file copies exceed the limit of %d", len(out), MaxTableRows)
	}
	if err := p.checkCopies(out); err != nil {
		return nil, err
	}
	return out, p.textErr("DuplicateFile")
}

// matchFiles lists the files this package installs in the folder named by the Directory id
// dirProp whose name matches pattern (MoveFile SourceName: '*' and '?' wildcards, compared
// case-insensitively as Windows does); ok is false once all calls together pass MaxMatchSteps
// comparisons.
func (l *layout) matchFiles(dirProp, pattern string) (matches []*fileSrc, ok bool) {
	dir, found := l.dirs[dirProp]
	if !found || pattern == "" {
		return nil, true
	}
	pat := strings.ToUpper(strings.NewReplacer(`\`, `\\`, "[", `\[`, "]", `\]`).Replace(pattern))
	var out []*fileSrc
	for _, f := range l.files {
		if l.matchSteps++; l.matchSteps > MaxMatchSteps {
			return nil, false
		}
		fd := path.Dir(f.InstallPath)
		if fd == "." {
			fd = ""
		}
		if foldPath(fd) != foldPath(dir) {
			continue
		}
		if m, err := path.Match(pat, foldPath(path.Base(f.InstallPath))); err == nil && m {
			out = append(out, f)
		}
	}
	return out, true
}

// checkCopies refuses copies that land where a File row installs, on one another, or inside
// the namespaces of streams and cabinet entries.
func (p *Package) checkCopies(copies []inventory.FileCopy) error {
	taken := map[string]string{}
	for _, f := range p.layout.files {
		taken[foldPath(f.InstallPath)] = "file " + f.Key
	}
	for _, c := range copies {
		if c.Destination == "" {
			continue
		}
		k := foldPath(c.Destination)
		if first, _, _ := strings.Cut(k, "/"); reservedRoot(first) {
			return &unpack.FormatError{Format: "msi", Entry: c.Table, Offset: -1, Err: unpack.ErrUnsupported,
				Msg: fmt.Sprintf("%q copies to %q, inside the namespace of streams and cabinet entries", c.ID, c.Destination)}
		}
		if other, dup := taken[k]; dup {
			return &unpack.FormatError{Format: "msi", Entry: c.Table, Offset: -1, Err: unpack.ErrUnsupported,
				Msg: fmt.Sprintf("%q copies to %q, where %s also lands; which bytes stay is undecidable here", c.ID, c.Destination, other)}
		}
		taken[k] = c.Table + " " + c.ID
	}
	return nil
}

// reservedRoot reports whether a case-folded first path element belongs to the streams and
// cabinet entries rather than to install paths.
func reservedRoot(folded string) bool {
	return folded == foldPath(binaryRoot) || folded == foldPath(cabinetRoot) || folded == foldPath(OrphanRoot)
}

// IniFiles returns the IniFile rows (Action 0 add line, 1 create line, 3 add tag).
func (p *Package) IniFiles() ([]inventory.IniEdit, error) {
	t, err := p.rowsOf("IniFile")
	if t == nil || err != nil {
		return nil, err
	}
	out := make([]inventory.IniEdit, 0, len(t.Rows))
	for i := range t.Rows {
		act, _ := t.Int(i, "Action")
		dir := "[WindowsFolder]"
		if prop := p.str(t, i, "DirProperty"); prop != "" {
			dir, _ = p.layout.dirOf(prop)
		}
		out = append(out, inventory.IniEdit{
			ID:        p.str(t, i, "IniFile"),
			File:      p.layout.spend(joinPath(dir, sanitize(longName(p.str(t, i, "FileName"))))),
			Section:   p.str(t, i, "Section"),
			Key:       p.str(t, i, "Key"),
			Value:     p.layout.format(p.str(t, i, "Value")),
			Action:    int(act),
			Component: p.str(t, i, "Component_"),
		})
	}
	return out, p.textErr("IniFile")
}

// RemoveFiles returns the RemoveFile rows; FileName may hold wildcards, an empty one removes
// the folder.
func (p *Package) RemoveFiles() ([]inventory.RemoveFile, error) {
	t, err := p.rowsOf("RemoveFile")
	if t == nil || err != nil {
		return nil, err
	}
	out := make([]inventory.RemoveFile, 0, len(t.Rows))
	for i := range t.Rows {
		mode, _ := t.Int(i, "InstallMode")
		dir, _ := p.layout.dirOf(p.str(t, i, "DirProperty"))
		out = append(out, inventory.RemoveFile{
			ID:          p.str(t, i, "FileKey"),
			Folder:      p.layout.spend(dir),
			FileName:    longName(p.str(t, i, "FileName")),
			InstallMode: int(mode),
			Component:   p.str(t, i, "Component_"),
		})
	}
	return out, p.textErr("RemoveFile")
}

// SelfRegs returns the SelfReg rows: files whose DllRegisterServer the installer calls.
func (p *Package) SelfRegs() ([]inventory.SelfReg, error) {
	t, err := p.rowsOf("SelfReg")
	if t == nil || err != nil {
		return nil, err
	}
	out := make([]inventory.SelfReg, 0, len(t.Rows))
	for i := range t.Rows {
		cost, _ := t.Int(i, "Cost")
		key := p.str(t, i, "File_")
		out = append(out, inventory.SelfReg{FileKey: key, File: p.layout.fileOrKey(key), Cost: int(cost)})
	}
	return out, p.textErr("SelfReg")
}

// COMServers returns the server registrations of the Class, TypeLib and AppId tables. A
// Class or TypeLib row's server is its component's key path file; an AppId row's is its
// DllSurrogate (a path, or empty for the system surrogate) or LocalService.
func (p *Package) COMServers() ([]inventory.COMServer, error) {
	var out []inventory.COMServer
	l := p.layout
	for _, spec := range []struct{ table, id, ctx string }{{"Class", "CLSID", "Context"}, {"TypeLib", "LibID", ""}} {
		t, err := p.rowsOf(spec.table)
		if err != nil {
			return nil, err
		}
		if t == nil {
			continue
		}
		for i := range t.Rows {
			comp := p.str(t, i, "Component_")
			out = append(out, inventory.COMServer{Table: spec.table, ID: p.str(t, i, spec.id),
				Context: p.str(t, i, spec.ctx), Server: l.spend(l.keyFile(comp)), Component: comp})
		}
	}
	t, err := p.rowsOf("AppId")
	if err != nil {
		return nil, err
	}
	if t != nil {
		for i := range t.Rows {
			s := inventory.COMServer{Table: "AppId", ID: p.str(t, i, "AppId"), Context: "DllSurrogate",
				Server: l.format(p.str(t, i, "DllSurrogate"))}
			if svc := p.str(t, i, "LocalService"); svc != "" {
				s.Context, s.Server = "LocalService", p.layout.clip(svc)
			}
			out = append(out, s)
		}
	}
	if len(out) > MaxTableRows {
		return nil, p.limitErr("Class", "%d COM registrations exceed the limit of %d", len(out), MaxTableRows)
	}
	return out, p.textErr("Class")
}

// Environment returns the Environment rows. Name keeps its action prefix ('=', '+', '-',
// '!', and '*' for the system environment); Value has "[~]" where the existing value goes.
func (p *Package) Environment() ([]inventory.EnvVar, error) {
	t, err := p.rowsOf("Environment")
	if t == nil || err != nil {
		return nil, err
	}
	out := make([]inventory.EnvVar, 0, len(t.Rows))
	for i := range t.Rows {
		out = append(out, inventory.EnvVar{
			ID:        p.str(t, i, "Environment"),
			Name:      p.str(t, i, "Name"),
			Value:     p.layout.format(p.str(t, i, "Value")),
			Component: p.str(t, i, "Component_"),
		})
	}
	return out, p.textErr("Environment")
}

// Fonts returns the Font rows.
func (p *Package) Fonts() ([]inventory.Font, error) {
	t, err := p.rowsOf("Font")
	if t == nil || err != nil {
		return nil, err
	}
	out := make([]inventory.Font, 0, len(t.Rows))
	for i := range t.Rows {
		out = append(out, inventory.Font{File: p.layout.fileOrKey(p.str(t, i, "File_")), Title: p.str(t, i, "FontTitle")})
	}
	return out, p.textErr("Font")
}

// ODBCDrivers returns the ODBCDriver rows with the driver and setup DLLs' install paths.
func (p *Package) ODBCDrivers() ([]inventory.ODBCDriver, error) {
	t, err := p.rowsOf("ODBCDriver")
	if t == nil || err != nil {
		return nil, err
	}
	out := make([]inventory.ODBCDriver, 0, len(t.Rows))
	for i := range t.Rows {
		var setup string
		if k := p.str(t, i, "File_Setup"); k != "" {
			setup = p.layout.fileOrKey(k)
		}
		out = append(out, inventory.ODBCDriver{
			ID:          p.str(t, i, "Driver"),
			Description: p.str(t, i, "Description"),
			File:        p.layout.fileOrKey(p.str(t, i, "File_")),
			Setup:       setup,
			Component:   p.str(t, i, "Component_"),
		})
	}
	return out, p.textErr("ODBCDriver")
}

// MSITables reads every table above; a table the database lacks gives no rows.
func (p *Package) MSITables() (*inventory.MSITables, error) {
	m := &inventory.MSITables{}
	p.layout.text = 0
	var err error
	steps := []func() error{
		func() error { m.Registry, err = p.Registry(); return err },
		func() error { m.Services, err = p.Services(); return err },
		func() error { m.ServiceControls, err = p.ServiceControls(); return err },
		func() error { m.FileCopies, err = p.FileCopies(); return err },
		func() error { m.IniFiles, err = p.IniFiles(); return err },
		func() error { m.RemoveFiles, err = p.RemoveFiles(); return err },
		func() error { m.SelfReg, err = p.SelfRegs(); return err },
		func() error { m.COMServers, err = p.COMServers(); return err },
		func() error { m.Environment, err = p.Environment(); return err },
		func() error { m.Fonts, err = p.Fonts(); return err },
		func() error { m.ODBCDrivers, err = p.ODBCDrivers(); return err },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, err
		}
	}
	for _, o := range p.layout.orphans {
		m.OrphanStreams = append(m.OrphanStreams, o.path)
	}
	return m, p.textErr("_Streams")
}
