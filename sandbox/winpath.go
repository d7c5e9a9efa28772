package sandbox

import (
	"path"
	"strings"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/winpath"
)

// WindowsPath maps an inventory install path to the Windows path it has in the guest; see
// winpath.Guest.
func WindowsPath(installPath string) (string, bool) { return winpath.Guest(installPath) }

// ShortcutPrograms returns the Windows paths of the .exe files that MSI shortcuts start, in
// order, without duplicates, at most MaxPrograms.
func ShortcutPrograms(shortcuts []inventory.Shortcut) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range shortcuts {
		if !strings.EqualFold(path.Ext(s.Target), ".exe") {
			continue
		}
		p, ok := WindowsPath(s.Target)
		if !ok || seen[strings.ToLower(p)] || len(out) >= MaxPrograms {
			continue
		}
		seen[strings.ToLower(p)] = true
		out = append(out, p)
	}
	return out
}
