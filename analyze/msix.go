package analyze

import (
	"fmt"
	"io"
	"strings"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack/msix"
)

// MSIX reads MSIX and AppX packages and bundles: the files a package installs, its identity,
// its block map checked against the content and its AppxSignature.p7x.
var MSIX = Format{"msix", openMSIX}

// AppxVerifier checks an MSIX/AppX package's signature (verify/authenticode).
type AppxVerifier interface {
	VerifyAppx(r io.ReaderAt, size int64) (*inventory.Signature, error)
}

// openMSIX opens a package. The product is the package identity's Name, never the file name;
// a file whose content does not match the block map the signature covers makes the package's
// signature invalid (sig.invalid), naming the files.
func openMSIX(a *Analyzer, f io.ReaderAt, size int64, name string, dir string) (*container, error) {
	r, err := msix.NewReader(f, size)
	if err != nil {
		return nil, err
	}
	c := &container{format: "msix", walker: r, close: func() error { return nil }}
	c.describe = func(inv *inventory.Inventory, self *inventory.Entry) error {
		id := r.Identity()
		inv.Product = inventory.Product{Identity: "msix:" + id.Name, Name: id.Name, Version: id.Version, Manufacturer: id.Publisher}
		self.Kind = inventory.KindArchive
		self.Version = id.Version
		v, ok := a.opts.Verifier.(AppxVerifier)
		if !ok {
			self.Signature = notChecked()
			return nil
		}
		sig, err := v.VerifyAppx(f, size)
		if err != nil {
			return fmt.Errorf("verifying the package signature: %w", err)
		}
		bad, err := r.BlockMapErrors()
		if err != nil {
			return err
		}
		if len(bad) > 0 && sig.State == inventory.SigSigned {
			var msgs []string
			for _, e := range bad[:min(len(bad), 5)] {
				msgs = append(msgs, e.Error())
			}
			sig.State = inventory.SigInvalid
			sig.IntegrityError = fmt.Sprintf("%d file(s) do not match the signed block map: %s", len(bad), strings.Join(msgs, "; "))
		} else if len(bad) > 0 {
			inv.Notes = append(inv.Notes, fmt.Sprintf("the block map does not match %d file(s) of this unsigned package", len(bad)))
		}
		self.Signature = sig
		return nil
	}
	return c, nil
}
