package analyze

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack/inno"
)

// Inno Setup installers carry their setup data after the setup stub; analyze finds the
// stub's loader table (peOverlay) and lists the files at innoextract's install paths
// ("app/…", "sys/…", "commonappdata/…": the destination's constant without braces).
var Inno = Format{"inno", openInno}

// openInno opens an Inno Setup installer. Its script facts meet the rules MSI tables meet:
// [Registry] entries are Registry rows (an autostart value is msi.autostart-added), [INI]
// entries are IniFile rows, [Run]/[UninstallRun] entries are custom actions (a new one is
// msi.custom-action-added, high) and [Icons] are shortcuts (one in a Startup folder is
// msi.autostart-added). The product is the uninstall key the installer registers,
// "<AppId>_is1", never the file name. Files the reader cannot read (encrypted) are listed
// as skipped, which makes the analysis incomplete.
//
// The installer given (dir set) may keep its file data in slice files beside it (disk
// spanning: setup-1.bin, …): they are read from dir through an os.Root, which no slice name
// or symbolic link leaves, and named as the files the inventory was read from. A slice that
// is absent, cut short or malformed fails the walk: the installer is inconclusive.
func openInno(a *Analyzer, f io.ReaderAt, size int64, name string, dir string) (*container, error) {
	var (
		side *sideFS
		root *os.Root
		dfs  fs.FS
	)
	if dir != "" {
		var err error
		if root, err = os.OpenRoot(dir); err != nil {
			return nil, err
		}
		side = &sideFS{fsys: root.FS()}
		dfs = side
	}
	closeRoot := func() error {
		if root == nil {
			return nil
		}
		return root.Close()
	}
	r, err := inno.NewReaderFS(f, size, dfs, filepath.Base(name))
	if err != nil {
		closeRoot()
		return nil, err
	}
	c := &container{format: "inno", walker: r, side: side, close: func() error { return errors.Join(r.Close(), closeRoot()) }}
	c.describe = func(inv *inventory.Inventory, self *inventory.Entry) error {
		h := r.Header
		id := h.AppID
		if id == "" {
			id = h.AppName // Inno's default AppId
		}
		id = strings.ReplaceAll(id, "{{", "{")
		if id != "" {
			inv.Product = inventory.Product{Identity: "inno-uninstall:" + strings.ToLower(id),
				Name: h.AppName, Version: h.AppVersion, Manufacturer: h.AppPublisher}
		}
		tables := &inventory.MSITables{}
		for i, e := range r.Registry {
			if e.DeleteKey || e.DeleteValue {
				continue // removes, writes nothing
			}
			tables.Registry = append(tables.Registry, inventory.RegistryRow{ID: fmt.Sprintf("inno-%d", i),
				Root: innoRoot(e.Hive), Key: e.Key, Name: e.Name, Value: e.Value})
		}
		for i, e := range r.INI {
			tables.IniFiles = append(tables.IniFiles, inventory.IniEdit{ID: fmt.Sprintf("inno-%d", i),
				File: strings.ReplaceAll(e.File, `\`, "/"), Section: e.Section, Key: e.Key, Value: e.Value})
		}
		inv.MSI = tables
		for _, e := range r.Runs {
			kind := "Run"
			if e.Uninstall {
				kind = "UninstallRun"
			}
			verb := e.Verb
			if verb == "" && e.ShellExec {
				verb = "shellexec"
			}
			inv.CustomActions = append(inv.CustomActions, inventory.CustomAction{
				Action: kind + " " + e.Filename, Source: verb, Target: strings.TrimSpace(e.Filename + " " + e.Parameters)})
		}
		for _, ic := range r.Icons {
			inv.Shortcuts = append(inv.Shortcuts, innoShortcut(ic))
		}
		skipped := r.Skipped()
		for _, p := range slices.Sorted(maps.Keys(skipped)) {
			inv.Skipped = append(inv.Skipped, inventory.Skip{Path: p, Reason: skipped[p].Error()})
		}
		return nil
	}
	return c, nil
}

// innoRoot maps a hive to the Registry table's root; HKA (per-machine or per-user, by the
// install mode) is -1 like MSI's.
func innoRoot(hive string) int {
	switch hive {
	case "HKCR":
		return 0
	case "HKCU":
		return 1
	case "HKLM":
		return 2
	case "HKU":
		return 3
	}
	return -1
}

// innoStartup maps Inno's Startup folder constants to the MSI folder names the rules know.
var innoStartup = map[string]string{
	"{userstartup}":   "StartupFolder",
	"{startup}":       "StartupFolder",
	"{commonstartup}": "CommonStartupFolder",
	"{autostartup}":   "CommonStartupFolder",
}

// innoShortcut turns an [Icons] entry into a shortcut: its folder is the name's leading
// constant (a Startup folder by the MSI name, others by innoextract's spelling) and what
// follows up to the last component, the target is the file's install path.
func innoShortcut(ic inno.Icon) inventory.Shortcut {
	name := strings.ReplaceAll(ic.Name, `\`, "/")
	dir, base := "", name
	if i := strings.LastIndex(name, "/"); i >= 0 {
		dir, base = name[:i], name[i+1:]
	}
	first, rest, _ := strings.Cut(dir, "/")
	if m, ok := innoStartup[strings.ToLower(first)]; ok {
		dir = m
		if rest != "" {
			dir += "/" + rest
		}
	} else {
		dir = inno.InstallPath(dir)
	}
	return inventory.Shortcut{Name: base, Directory: dir, Target: inno.InstallPath(ic.Filename), Arguments: ic.Parameters}
}
