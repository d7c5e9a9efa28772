package analyze

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/asar"
	"github.com/rollgate/rollgate/unpack/pkg"
)

// AppleVerifier checks Mach-O code signatures and the signatures of flat packages and disk
// images (verify/apple).
type AppleVerifier interface {
	MachOFacts(e *inventory.Entry, ra io.ReaderAt, size int64) error
	VerifyDMG(r io.ReaderAt, size int64) (*inventory.Signature, error)
	VerifyXar(r io.ReaderAt, size int64) (*inventory.Signature, error)
}

// openPkg opens a flat installer package (xar); a plain xar that is no package is refused.
func openPkg(a *Analyzer, f io.ReaderAt, size int64, name string, dir string) (*container, error) {
	p, err := pkg.NewReader(f, size)
	if err != nil {
		return nil, err
	}
	c := &container{format: "pkg", walker: p, close: func() error { return nil }}
	c.describe = func(inv *inventory.Inventory, self *inventory.Entry) error {
		inv.Product = inventory.Product{Identity: p.Identity(), Name: p.ProductID(), Version: p.ProductVersion(), BundleID: p.ProductID()}
		inv.Notes = append(inv.Notes, staticOnlyNote)
		self.Version = p.ProductVersion()
		if v := a.opts.AppleVerifier; v != nil {
			sig, err := v.VerifyXar(f, size)
			if err != nil {
				return fmt.Errorf("verifying the package signature: %w", err)
			}
			self.Signature = sig
		} else {
			self.Signature = notChecked()
		}
		return nil
	}
	return c, nil
}

// openAsar opens an Electron archive. Its "unpacked" files live beside it on disk, outside
// the archive; they are inventoried where the folder walk finds them, never through here.
func openAsar(a *Analyzer, f io.ReaderAt, size int64, name string, dir string) (*container, error) {
	r, err := asar.NewReader(f, size)
	if err != nil {
		if dir == "" && errors.Is(err, unpack.ErrFormat) {
			return nil, nil // named .asar but not one: stays a data entry
		}
		return nil, fmt.Errorf("opening %q: %w", filepath.Base(name), err)
	}
	return &container{format: "asar", walker: r, close: func() error { return nil },
		describe: func(inv *inventory.Inventory, self *inventory.Entry) error { return nil }}, nil
}
