package analyze

import (
	"fmt"
	"io"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack/dmg"
)

// staticOnlyNote is said in every report on a macOS installer.
const staticOnlyNote = "macOS programs cannot run in a Linux container: static analysis only"

// openDMG opens a UDIF disk image; its files are listed by their path inside the volume.
func openDMG(a *Analyzer, f io.ReaderAt, size int64, name string, dir string) (*container, error) {
	im, err := dmg.NewReader(f, size)
	if err != nil {
		return nil, err
	}
	c := &container{format: "dmg", walker: im, close: func() error { return nil }}
	c.describe = func(inv *inventory.Inventory, self *inventory.Entry) error {
		inv.Notes = append(inv.Notes, staticOnlyNote)
		if v := a.opts.AppleVerifier; v != nil {
			sig, err := v.VerifyDMG(f, size)
			if err != nil {
				return fmt.Errorf("verifying the disk image signature: %w", err)
			}
			self.Signature = sig
		} else {
			self.Signature = notChecked()
		}
		return nil
	}
	return c, nil
}
