package sandbox

import (
	"context"
	"io"
	"path"
	"strings"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack/msi"
)

// Runner runs installers for the gate package (it implements gate.Sandbox): the programs it
// starts are those Programs picks from the inventory.
type Runner struct {
	// Progress receives human progress lines (nil: none).
	Progress io.Writer
}

// Available reports whether a Docker engine answers.
func (r Runner) Available(ctx context.Context) error { return Available(ctx) }

// Run installs the installer and runs the programs the inventory points at.
func (r Runner) Run(ctx context.Context, installer string, inv *inventory.Inventory) (*inventory.Behaviour, error) {
	return Run(ctx, Spec{Installer: installer, Programs: Programs(inv), Progress: r.Progress})
}

// Programs picks what to start after the install: the MSI's shortcuts, else its installed
// executables, at most MaxPrograms.
func Programs(inv *inventory.Inventory) []string {
	if p := ShortcutPrograms(inv.Shortcuts); len(p) > 0 {
		return p
	}
	var out []string
	for _, e := range inv.Entries {
		if e.Kind != inventory.KindPE || !strings.EqualFold(path.Ext(e.Path), ".exe") {
			continue
		}
		if w, ok := WindowsPath(e.Path); ok && len(out) < MaxPrograms {
			out = append(out, w)
		}
	}
	return out
}

// InstallerPrograms returns the Windows paths of the programs an MSI's shortcuts start
// (`rollgate sandbox run` without an inventory); other installers name none.
func InstallerPrograms(installer string) ([]string, error) {
	if !strings.EqualFold(path.Ext(installer), ".msi") {
		return nil, nil
	}
	rc, err := msi.Open(installer)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	sc, err := rc.Reader.Shortcuts()
	if err != nil {
		return nil, err
	}
	return ShortcutPrograms(sc), nil
}
