package sandbox

import (
	"path"
	"sort"
	"strings"

	"github.com/moby/moby/api/types/container"

	"github.com/rollgate/rollgate/inventory"
)

// Paths in the guest's diff that are not the installer's doing: rollgate's own inputs, the
// files the engine manages, and wine's own bookkeeping. Matched as path or path prefix + "/".
var diffIgnore = []string{
	"/rollgate", // the run script and the installer copied in
	"/tmp",      // tmpfs: wineserver's socket
	"/dev", "/proc", "/sys", "/run",
	"/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/etc/mtab",
	guestPrefix + "/.update-timestamp",
	guestPrefix + "/dosdevices",
}

// ParseDiff turns the engine's list of changed paths in the guest into file writes with
// Windows paths: guestPrefix/drive_c/... becomes C:\..., any other path becomes Z:\... (wine's
// drive for /). Directories that only changed because something below them did are left out;
// paths are de-duplicated, sorted and capped at MaxEvents.
func ParseDiff(changes []container.FilesystemChange) (writes []inventory.FileWrite, truncated bool) {
	type item struct {
		p    string
		kind string
	}
	var items []item
	seen := map[string]bool{}
	for _, c := range changes {
		p := path.Clean("/" + c.Path)
		if ignored(p) || seen[p] {
			continue
		}
		seen[p] = true
		kind := ""
		switch c.Kind {
		case container.ChangeModify:
			kind = "changed"
		case container.ChangeAdd:
			kind = "added"
		case container.ChangeDelete:
			kind = "deleted"
		default:
			continue
		}
		items = append(items, item{p, kind})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].p < items[j].p })
	for i, it := range items {
		// A changed directory whose children are listed (sorted: they follow at once) says
		// nothing more than its children.
		if it.kind == "changed" && i+1 < len(items) && strings.HasPrefix(items[i+1].p, it.p+"/") {
			continue
		}
		if len(writes) >= MaxEvents {
			truncated = true
			break
		}
		writes = append(writes, inventory.FileWrite{Path: WindowsGuestPath(it.p), Kind: it.kind})
	}
	if writes == nil {
		writes = []inventory.FileWrite{}
	}
	return writes, truncated
}

func ignored(p string) bool {
	for _, x := range diffIgnore {
		if p == x || strings.HasPrefix(p, x+"/") {
			return true
		}
	}
	return false
}

// WindowsGuestPath maps a Unix path inside the guest to the path a Windows program sees:
// the prefix's drive_c is C:, everything else is reached through Z: (wine maps Z: to /).
func WindowsGuestPath(p string) string {
	p = path.Clean("/" + p)
	drive := guestPrefix + "/drive_c"
	var out string
	switch {
	case p == drive:
		out = `C:\`
	case strings.HasPrefix(p, drive+"/"):
		out = `C:\` + p[len(drive)+1:]
	case p == "/":
		out = `Z:\`
	default:
		out = `Z:` + p
	}
	return capField(strings.ReplaceAll(out, "/", `\`))
}
