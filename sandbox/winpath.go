package sandbox

import (
	"path"
	"strings"

	"github.com/rollgate/rollgate/inventory"
)

// Windows Installer standard folder ids (Directory table roots) and where they are in the
// guest (a 64-bit wine prefix whose user is root).
var standardFolders = map[string]string{
	"TARGETDIR":            `C:`,
	"ProgramFiles64Folder": `C:\Program Files`,
	"ProgramFilesFolder":   `C:\Program Files (x86)`,
	"CommonFiles64Folder":  `C:\Program Files\Common Files`,
	"CommonFilesFolder":    `C:\Program Files (x86)\Common Files`,
	"WindowsFolder":        `C:\windows`,
	"System64Folder":       `C:\windows\system32`,
	"SystemFolder":         `C:\windows\syswow64`,
	"WindowsVolume":        `C:`,
	"CommonAppDataFolder":  `C:\ProgramData`,
	"AppDataFolder":        `C:\users\root\AppData\Roaming`,
	"LocalAppDataFolder":   `C:\users\root\AppData\Local`,
	"TempFolder":           `C:\users\root\AppData\Local\Temp`,
	"PersonalFolder":       `C:\users\root\Documents`,
	"DesktopFolder":        `C:\users\root\Desktop`,
	"ProgramMenuFolder":    `C:\users\root\AppData\Roaming\Microsoft\Windows\Start Menu\Programs`,
	"StartMenuFolder":      `C:\users\root\AppData\Roaming\Microsoft\Windows\Start Menu`,
	"StartupFolder":        `C:\users\root\AppData\Roaming\Microsoft\Windows\Start Menu\Programs\Startup`,
}

// WindowsPath maps an inventory install path ("ProgramFiles64Folder/Acme/app.exe") to the
// Windows path it has in the guest (`C:\Program Files\Acme\app.exe`). It returns false for a
// path that does not start with a standard folder id, or that tries to climb out of it.
func WindowsPath(installPath string) (string, bool) {
	parts := strings.Split(installPath, "/")
	root, ok := standardFolders[parts[0]]
	if !ok || len(parts) < 2 {
		return "", false
	}
	for _, p := range parts[1:] {
		if p == "" || p == "." || p == ".." || strings.ContainsAny(p, "\\:\x00") {
			return "", false
		}
	}
	return root + `\` + strings.Join(parts[1:], `\`), true
}

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
