package analyze

import (
	"io"
	"io/fs"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/msi"
)

// container is an opened installer or nested archive.
type container struct {
	format string
	walker unpack.Walker
	close  func() error
	// describe fills product identity, tables and the installer's own signature; only
	// for top-level installers.
	describe func(inv *inventory.Inventory, self *inventory.Entry) error
	// side, when set, lists the files beside the installer the reader asked for (an MSI's
	// external cabinets and uncompressed sources), found or not.
	side *sideFS
	// runsPackages: installing the container runs the installers it carries (a Burn
	// bundle's chain), so their MSI tables, shortcuts and gaps are the container's own.
	runsPackages bool
	// packages names the packages the container runs by their path in it ("burn-MsiPackage/ID"
	// for a Burn chain): a nested package's custom actions are listed under that name.
	packages map[string]string
	// transforms names, by path in the container, the transforms (paths in fsys) applied in
	// order to an MSI the container carries: a Burn MsiPackage's TRANSFORMS.
	transforms map[string][]string
	// patches are the MSP patches the container runs (a Burn chain's MspPackages): each is
	// applied to every MSI package of the container whose ProductCode it targets.
	patches []patchRef
	fsys    fs.FS
	// msi is the database when the container is an MSI: nested applies transforms to it.
	msi *msi.Package
	// productOf, when set, is the path in the container of the package whose product names
	// the installer (an InstallShield launcher's MSI), read once that package is walked.
	productOf string
	// cabinets names, by path in the container, the InstallShield cabinet files ("ISc(")
	// that belong to a cabinet set: "" when the set was read (its files are walked), else
	// why not, the Skip's reason.
	cabinets map[string]string
}

// patchRef is an MSP a container runs: its path in the container's fsys and how reports name
// it ("Burn MspPackage \"ID\"").
type patchRef struct{ path, what string }

// opener opens one format. dir is the folder holding the installer (for external cabinets),
// empty for nested containers.
type opener func(a *Analyzer, f io.ReaderAt, size int64, name string, dir string) (*container, error)

// Format is one container reader an Analyzer may use, passed in Options.Formats.
type Format struct {
	name string // the key containerFormat returns
	open opener
}

// The formats rollgate reads. Each is the glue between an unpack reader and the inventory.
var (
	MSI  = Format{"cfb", openMSI}   // Windows Installer databases (compound files)
	CAB  = Format{"cab", openCAB}   // cabinets
	Pkg  = Format{"xar", openPkg}   // flat installer packages
	Asar = Format{"asar", openAsar} // Electron archives
	DMG  = Format{"dmg", openDMG}   // UDIF disk images
)

// DefaultFormats returns every format rollgate reads.
func DefaultFormats() []Format {
	return []Format{MSI, CAB, Pkg, Asar, DMG, NSIS, Inno, MSIX, Burn, IShield}
}

// openContainer opens f with the reader for its format, or returns nil when no reader
// applies (a bare PE, a data file).
func openContainer(a *Analyzer, f io.ReaderAt, size int64, name string, head []byte, dir string) (*container, error) {
	format := containerFormat(name, head)
	if format == "" {
		format = sniffTrailer(f, size)
	}
	open := a.openers[format]
	if open == nil {
		return nil, nil
	}
	return open(a, f, size, name, dir)
}

// sniffTrailer recognises formats identified by their end, such as UDIF's koly block.
func sniffTrailer(r io.ReaderAt, size int64) string {
	if size < 512 {
		return ""
	}
	var b [4]byte
	if _, err := r.ReadAt(b[:], size-512); err == nil && string(b[:]) == "koly" {
		return "dmg"
	}
	return ""
}
