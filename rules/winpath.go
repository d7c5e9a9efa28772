package rules

import "strings"

// knownFolders maps MSI standard folder ids to the Windows paths they resolve to in the
// sandbox's wine prefix (64-bit, per-machine install, user "<user>" after normalisation).
// Some folders have a per-user and a per-machine form; both are listed.
var knownFolders = map[string][]string{
	"ProgramFiles64Folder":   {`C:\Program Files`},
	"ProgramFilesFolder":     {`C:\Program Files (x86)`, `C:\Program Files`},
	"CommonFiles64Folder":    {`C:\Program Files\Common Files`},
	"CommonFilesFolder":      {`C:\Program Files (x86)\Common Files`, `C:\Program Files\Common Files`},
	"System64Folder":         {`C:\windows\system32`},
	"SystemFolder":           {`C:\windows\system32`, `C:\windows\syswow64`},
	"WindowsFolder":          {`C:\windows`},
	"TempFolder":             {`C:\users\<user>\AppData\Local\Temp`, `C:\windows\temp`},
	"AppDataFolder":          {`C:\users\<user>\AppData\Roaming`},
	"LocalAppDataFolder":     {`C:\users\<user>\AppData\Local`},
	"CommonAppDataFolder":    {`C:\ProgramData`},
	"PersonalFolder":         {`C:\users\<user>\Documents`},
	"DesktopFolder":          {`C:\users\<user>\Desktop`, `C:\users\Public\Desktop`},
	"ProgramMenuFolder":      {`C:\users\<user>\AppData\Roaming\Microsoft\Windows\Start Menu\Programs`, `C:\ProgramData\Microsoft\Windows\Start Menu\Programs`},
	"StartMenuFolder":        {`C:\users\<user>\AppData\Roaming\Microsoft\Windows\Start Menu`, `C:\ProgramData\Microsoft\Windows\Start Menu`},
	"StartupFolder":          {`C:\users\<user>\AppData\Roaming\Microsoft\Windows\Start Menu\Programs\Startup`, `C:\ProgramData\Microsoft\Windows\Start Menu\Programs\Startup`},
	"FontsFolder":            {`C:\windows\Fonts`},
	"TARGETDIR":              {`C:`},
	"SourceDir":              {`C:`},
	"WindowsVolume":          {`C:`},
	"ProgramFiles6432Folder": {`C:\Program Files`},
}

// WindowsPaths returns the Windows paths an MSI install path may land on in the sandbox, the
// first being the most likely. A path under an unknown folder id lands under C:\ (wine's
// default ROOTDRIVE).
func WindowsPaths(installPath string) []string {
	first, rest, _ := strings.Cut(installPath, "/")
	roots, ok := knownFolders[first]
	if !ok {
		roots = []string{`C:\` + first}
	}
	rest = strings.ReplaceAll(rest, "/", `\`)
	out := make([]string, 0, len(roots))
	for _, r := range roots {
		if rest == "" {
			out = append(out, r)
		} else {
			out = append(out, r+`\`+rest)
		}
	}
	return out
}
