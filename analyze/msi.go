package analyze

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/cab"
	"github.com/rollgate/rollgate/unpack/cfb"
	"github.com/rollgate/rollgate/unpack/msi"
)

// MSIVerifier checks an MSI package's own Authenticode signature (verify/authenticode).
type MSIVerifier interface {
	VerifyMSI(c *cfb.Reader) (*inventory.Signature, error)
}

// msiFileKeys puts each file's MSI File and Component keys on its entry, so the diff can
// pair a file whose install path changed with its baseline by the table row that installs it.
func msiFileKeys(inv *inventory.Inventory, _ map[string][]byte) error {
	if len(inv.FileKeys) == 0 {
		return nil
	}
	for i := range inv.Entries {
		if k, ok := inv.FileKeys[inv.Entries[i].Path]; ok {
			inv.Entries[i].MSIFile, inv.Entries[i].MSIComponent = k.File, k.Component
		}
	}
	inv.FileKeys = nil
	return nil
}

// openMSI opens a compound file as an MSI database. dir (the installer's folder) serves
// external cabinets; a nested compound file gets none.
func openMSI(a *Analyzer, f io.ReaderAt, size int64, name string, dir string) (*container, error) {
	var dfs fs.FS
	var side *sideFS
	if dir != "" {
		side = &sideFS{fsys: os.DirFS(dir)}
		dfs = side
	}
	switch class := rootClass(f, size); {
	case dir == "" && (class == clsidTransform || class == clsidPatch):
		// A transform or patch a bundle carries is read where it is applied (nested); as a
		// file it stays a data entry: its table streams are row changes, not tables.
		return nil, nil
	case class == clsidPatch:
		return openPatch(a, f, size, name)
	case class == clsidTransform:
		return nil, &unpack.FormatError{Format: "msi", Entry: filepath.Base(name), Offset: -1, Err: unpack.ErrUnsupported,
			Msg: "a transform (.mst) changes an MSI's tables and is judged only with the MSI it is applied to"}
	}
	p, err := msi.NewReader(f, size, dfs)
	if err != nil {
		if dir == "" && errors.Is(err, unpack.ErrFormat) {
			// A nested compound file that is not an MSI database (a .doc, an .msm we
			// cannot read as one) stays a data entry; the top-level installer must parse.
			return nil, nil
		}
		return nil, fmt.Errorf("opening %q: %w", filepath.Base(name), err)
	}
	c := &container{format: "msi", walker: p, close: p.Close, side: side, msi: p}
	c.describe = func(inv *inventory.Inventory, self *inventory.Entry) error {
		return describeMSI(a, p, name, inv, self)
	}
	return c, nil
}

// describeMSI fills an MSI package's product, custom actions, shortcuts, file keys, tables
// and own signature.
func describeMSI(a *Analyzer, p *msi.Package, name string, inv *inventory.Inventory, self *inventory.Entry) error {
	{
		up := strings.ToUpper(strings.TrimSpace(p.Property("UpgradeCode")))
		prod := inventory.Product{
			Name:         p.Property("ProductName"),
			Version:      p.Property("ProductVersion"),
			Manufacturer: p.Property("Manufacturer"),
			UpgradeCode:  up,
			ProductCode:  strings.ToUpper(p.Property("ProductCode")),
		}
		switch {
		case up != "":
			prod.Identity = "msi-upgrade:" + up
		case prod.Name != "":
			prod.Identity = "msi-name:" + prod.Name
		default:
			prod.Identity = "msi-file:" + filepath.Base(name)
		}
		inv.Product = prod
		cas, err := p.CustomActions()
		if err != nil {
			return err
		}
		inv.CustomActions = cas
		scs, err := p.Shortcuts()
		if err != nil {
			return err
		}
		inv.Shortcuts = scs
		files, err := p.Files()
		if err != nil {
			return err
		}
		inv.FileKeys = make(map[string]inventory.FileKey, len(files))
		for _, f := range files {
			inv.FileKeys[f.InstallPath] = inventory.FileKey{File: f.Key, Component: f.Component}
		}
		tables, err := p.MSITables()
		if err != nil {
			return err
		}
		inv.MSI = tables
		self.Kind = inventory.KindArchive
		self.Version = prod.Version
		if v := a.opts.MSIVerifier; v != nil {
			sig, err := v.VerifyMSI(p.CFB)
			if err != nil {
				return fmt.Errorf("verifying the MSI signature: %w", err)
			}
			self.Signature = sig
		} else {
			self.Signature = notChecked()
		}
		return nil
	}
}

// openPatch opens an MSP given as the installer, without the product it patches
// (msi.OpenPatchAlone): what its transforms add whole is judged as an MSI's tables, its
// cabinets' files are inventoried under "Cabinet/", and everything it changes that only the
// target places (rows of the target, files of the target's components, binary deltas) is a
// Skip, so a patch is never a silent pass. The product is the set of products it targets.
func openPatch(a *Analyzer, f io.ReaderAt, size int64, name string) (*container, error) {
	pt, err := msi.OpenPatch(f, size, filepath.Base(name))
	if err != nil {
		return nil, err
	}
	p, err := msi.OpenPatchAlone(pt)
	if err != nil {
		return nil, fmt.Errorf("opening %q: %w", filepath.Base(name), err)
	}
	c := &container{format: "msp", walker: p, close: p.Close}
	c.describe = func(inv *inventory.Inventory, self *inventory.Entry) error {
		if err := describeMSI(a, p, name, inv, self); err != nil {
			return err
		}
		targets := strings.Join(pt.Targets, ";")
		inv.Product = inventory.Product{Identity: "msp-targets:" + targets, Name: firstNonEmpty(pt.Summary.Subject, pt.Summary.Title)}
		self.Version = ""
		inv.Notes = append(inv.Notes, fmt.Sprintf("patch %s read without the product it patches (%s): what it adds whole is judged, what it changes in the product is listed as not inventoried", pt.Code, targets))
		for _, u := range p.Unplaced() {
			where, what, _ := strings.Cut(u, ": ")
			inv.Skipped = append(inv.Skipped, inventory.Skip{Path: where,
				Reason: "the patch changes its target here (" + what + "); without the target this was not inventoried"})
		}
		deltas, err := p.PatchedFiles()
		if err != nil {
			return err
		}
		for _, d := range deltas {
			inv.Skipped = append(inv.Skipped, inventory.Skip{Path: "File/" + d.FileKey,
				Reason: "the patch changes this file of its target by binary delta (Patch table), which rollgate does not apply"})
		}
		return nil
	}
	return c, nil
}

// Root storage classes of transforms and patches (msidefs.h CLSID_MsiTransform,
// CLSID_MsiPatch): {000C1082-0000-0000-C000-000000000046}, {000C1086-...}.
var (
	clsidTransform = [16]byte{0x82, 0x10, 0x0C, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46}
	clsidPatch     = [16]byte{0x86, 0x10, 0x0C, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46}
)

// rootClass is the class of a compound file's root storage, zero when it does not open.
func rootClass(f io.ReaderAt, size int64) [16]byte {
	c, err := cfb.NewReader(f, size)
	if err != nil {
		return [16]byte{}
	}
	return c.Root().CLSID
}

// msiFileCopies adds an entry at the destination of every DuplicateFile / MoveFile row whose
// source is a file of the inventory: the file that lands there is judged like an installed
// one (a DLL copied to INSTALLDIR\version.dll is a side-load whatever its source was named).
// The entry shares the source's facts; CopyOf names the source. unpack/msi has already refused
// copies that land where a File row installs or on one another.
func msiFileCopies(inv *inventory.Inventory, _ map[string][]byte) error {
	if inv.MSI == nil {
		return nil
	}
	var added []inventory.Entry
	for _, fc := range inv.MSI.FileCopies {
		if fc.Destination == "" {
			continue
		}
		src, ok := inv.Lookup(fc.Source)
		if !ok {
			continue // a file already on the machine: only the row is inventoried
		}
		if _, taken := inv.Lookup(fc.Destination); taken {
			return &unpack.FormatError{Format: "msi", Entry: fc.Table, Offset: -1, Err: unpack.ErrUnsupported,
				Msg: fmt.Sprintf("%q copies to %q, where another file of the inventory lands", fc.ID, fc.Destination)}
		}
		e := *src
		e.Path = fc.Destination
		e.CopyOf = src.Path
		e.Container = "" // its content is inventoried once, under the source
		if src.Signature != nil {
			sig := *src.Signature
			e.Signature = &sig
		}
		added = append(added, e)
	}
	inv.Entries = append(inv.Entries, added...)
	inv.Sort()
	return nil
}

// openCAB opens a cabinet; a top-level one is its own product, named after the file. A
// top-level cabinet that is part of a set (its header names a previous or next cabinet) is
// read with the set's other cabinets found beside it, as cabextract does, so one part given
// lists every file of the set; a part that is absent is named in the inventory's notes.
// Input holding cabinets after other bytes, or several cabinets one after another (a
// self-extracting cabinet's overlay, libmspack's search.cab), is read as cabextract reads
// it: the cabinets cab.Search finds, each alone, their files under "(cab@OFFSET)/" when
// there are several (cab.Multi).
func openCAB(a *Analyzer, f io.ReaderAt, size int64, name string, dir string) (*container, error) {
	found, err := cab.Search(f, size)
	switch {
	case err != nil && !startsWithCAB(f):
		return nil, err
	case err == nil && (len(found) > 1 || len(found) == 1 && found[0].Offset != 0):
		return openFoundCABs(f, found, name, dir)
	}
	// One cabinet at the start (a search over its bound included: what follows the first
	// cabinet is then not searched), or none that passes the search's checks: the cabinet
	// reader itself, whose errors name what is wrong.
	var (
		r       *cab.Reader
		missing []string
	)
	if dir != "" {
		r, missing, err = cab.OpenSetFS(os.DirFS(dir), cab.Part{R: f, Size: size, Name: filepath.Base(name)})
	} else {
		r, err = cab.NewReader(f, size)
	}
	if err != nil {
		return nil, err
	}
	c := &container{format: "cab", walker: r, close: r.Close}
	c.describe = func(inv *inventory.Inventory, self *inventory.Entry) error {
		if dir != "" {
			// Only a cabinet given as the installer is its own product: one in a setup
			// stub's overlay leaves the naming to the stub's version resource.
			inv.Product = cabProduct(name)
		}
		for _, m := range missing {
			inv.Notes = append(inv.Notes, fmt.Sprintf("the cabinet set continues in %q, which is not beside the cabinet: its files are not inventoried", m))
		}
		return nil
	}
	return c, nil
}

// startsWithCAB reports whether f starts with a CFHEADER signature.
func startsWithCAB(f io.ReaderAt) bool {
	var b [8]byte
	_, err := f.ReadAt(b[:], 0)
	return err == nil && string(b[:]) == "MSCF\x00\x00\x00\x00"
}

// searchCABs opens a top-level file no other reader claims (neither a PE nor a Mach-O) as
// the cabinets cab.Search finds in it, or returns nil when it holds none.
func searchCABs(f io.ReaderAt, size int64, name string) (*container, error) {
	found, err := cab.Search(f, size)
	if err != nil || len(found) == 0 {
		return nil, err
	}
	return openFoundCABs(f, found, name, filepath.Dir(name))
}

// openFoundCABs reads the cabinets an earlier cab.Search found.
func openFoundCABs(f io.ReaderAt, found []cab.Found, name, dir string) (*container, error) {
	m, err := cab.OpenFound(f, found)
	if err != nil {
		return nil, err
	}
	c := &container{format: "cab", walker: m, close: m.Close}
	c.describe = func(inv *inventory.Inventory, self *inventory.Entry) error {
		if dir != "" {
			inv.Product = cabProduct(name)
		}
		return nil
	}
	return c, nil
}

// cabProduct names a cabinet given as the installer after its file.
func cabProduct(name string) inventory.Product {
	return inventory.Product{Identity: "cab:" + filepath.Base(name), Name: filepath.Base(name)}
}

// sideFS is the installer's folder as an MSI reader sees it: every name asked for is
// remembered, so the caller knows the inventory depends on more than the installer's bytes.
type sideFS struct {
	fsys  fs.FS
	mu    sync.Mutex
	names map[string]bool
}

// Open implements fs.FS.
func (s *sideFS) Open(name string) (fs.File, error) {
	s.mu.Lock()
	if s.names == nil {
		s.names = map[string]bool{}
	}
	s.names[name] = true
	s.mu.Unlock()
	return s.fsys.Open(name)
}

// Stat implements fs.StatFS, so that a reader can check a name is a regular file before it
// opens it (a FIFO would block the open).
func (s *sideFS) Stat(name string) (fs.FileInfo, error) {
	s.mu.Lock()
	if s.names == nil {
		s.names = map[string]bool{}
	}
	s.names[name] = true
	s.mu.Unlock()
	return fs.Stat(s.fsys, name)
}

// Names lists the names asked for, sorted.
func (s *sideFS) Names() []string {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.names))
	for n := range s.names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
