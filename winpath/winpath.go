// Package winpath maps MSI install paths to the Windows paths they take in the sandbox's wine
// prefix, and normalises Windows paths from sandbox runs so that two runs of the same software
// compare equal. It is pure: the rules use it without pulling in the Docker client.
package winpath

import (
	"regexp"
	"strings"
)

// folders maps Windows Installer standard folder ids (Directory table roots) to where they
// are in the guest: a 64-bit wine prefix whose user is root, per-machine install. Folders with
// both a per-user and a per-machine form list the guest's first.
var folders = map[string][]string{
	"TARGETDIR":              {`C:`},
	"SourceDir":              {`C:`},
	"WindowsVolume":          {`C:`},
	"ProgramFiles64Folder":   {`C:\Program Files`},
	"ProgramFiles6432Folder": {`C:\Program Files`},
	"ProgramFilesFolder":     {`C:\Program Files (x86)`},
	"CommonFiles64Folder":    {`C:\Program Files\Common Files`},
	"CommonFilesFolder":      {`C:\Program Files (x86)\Common Files`},
	"WindowsFolder":          {`C:\windows`},
	"System64Folder":         {`C:\windows\system32`},
	"SystemFolder":           {`C:\windows\syswow64`},
	"FontsFolder":            {`C:\windows\Fonts`},
	"CommonAppDataFolder":    {`C:\ProgramData`},
	"AppDataFolder":          {`C:\users\root\AppData\Roaming`},
	"LocalAppDataFolder":     {`C:\users\root\AppData\Local`},
	"TempFolder":             {`C:\users\root\AppData\Local\Temp`, `C:\windows\temp`},
	"PersonalFolder":         {`C:\users\root\Documents`},
	"DesktopFolder":          {`C:\users\root\Desktop`, `C:\users\Public\Desktop`},
	"ProgramMenuFolder":      {`C:\users\root\AppData\Roaming\Microsoft\Windows\Start Menu\Programs`, `C:\ProgramData\Microsoft\Windows\Start Menu\Programs`},
	"StartMenuFolder":        {`C:\users\root\AppData\Roaming\Microsoft\Windows\Start Menu`, `C:\ProgramData\Microsoft\Windows\Start Menu`},
	"StartupFolder":          {`C:\users\root\AppData\Roaming\Microsoft\Windows\Start Menu\Programs\Startup`, `C:\ProgramData\Microsoft\Windows\Start Menu\Programs\Startup`},
}

// Guest maps an inventory install path ("ProgramFiles64Folder/Acme/app.exe") to the Windows
// path it has in the guest (`C:\Program Files\Acme\app.exe`). It returns false for a path that
// does not start with a standard folder id, names only the folder, or tries to climb out.
func Guest(installPath string) (string, bool) {
	c := Candidates(installPath)
	if len(c) == 0 {
		return "", false
	}
	return c[0], true
}

// Candidates returns every Windows path an install path may land on (per-user and
// per-machine forms), the guest's first; nil when Guest would return false.
func Candidates(installPath string) []string {
	parts := strings.Split(installPath, "/")
	roots, ok := folders[parts[0]]
	if !ok || len(parts) < 2 {
		return nil
	}
	for _, p := range parts[1:] {
		if p == "" || p == "." || p == ".." || strings.ContainsAny(p, "\\:\x00") {
			return nil
		}
	}
	rest := strings.Join(parts[1:], `\`)
	out := make([]string, len(roots))
	for i, r := range roots {
		out[i] = r + `\` + rest
	}
	return out
}

var (
	reGUID = regexp.MustCompile(`\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?`)
	// Temporary names Windows and MSI make: ~DF1A2B.tmp, MSI3F2.tmp, tmp12AB.tmp, _is1234, and
	// the cached package copies in C:\windows\Installer (457e.msi).
	reTemp = regexp.MustCompile(`^(?:~?[a-z]{0,4}[0-9a-f]{1,8}\.tmp|[0-9a-f]{1,8}\.(?:msi|msp|mst)|_is[0-9a-f]{1,8}|~[a-z]*[0-9a-f]{2,8}(?:\.[a-z]{1,3})?)$`)
	// Random hexadecimal names (8 or more digits, at least one a decimal digit).
	reHex = regexp.MustCompile(`^[0-9a-f]{8,}$`)
	// Dotted version numbers anywhere in a name: 1.2, 5.2.0.0, app-10.4.1, v2.0.
	reVersion = regexp.MustCompile(`v?[0-9]+(?:\.[0-9]+){1,3}`)
)

// Normalize maps a guest path to a form in which two runs of the same software compare equal:
// Windows paths are case-insensitive, so the result is lower case with backslashes; GUIDs
// become {guid}, temporary names <tmp>, long random hexadecimal names <hex>, dotted version
// numbers <ver>, and a user profile folder (other than Public) <user>.
func Normalize(p string) string {
	p = strings.ToLower(strings.ReplaceAll(p, "/", `\`))
	p = reGUID.ReplaceAllString(p, "{guid}")
	parts := strings.Split(p, `\`)
	for i, c := range parts {
		switch {
		case c == "" || c == "{guid}":
		case i > 0 && parts[i-1] == "users" && i == 2 && c != "public":
			parts[i] = "<user>"
		case reTemp.MatchString(c):
			parts[i] = "<tmp>"
		case reHex.MatchString(c) && strings.ContainsAny(c, "0123456789"):
			parts[i] = "<hex>"
		default:
			parts[i] = reVersion.ReplaceAllString(c, "<ver>")
		}
	}
	return strings.Join(parts, `\`)
}
