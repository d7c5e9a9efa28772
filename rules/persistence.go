package rules

import (
	"fmt"
	"strings"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/winpath"
)

// Autostart locations (sandbox.persistence). A registry location is a key, and a value name
// under it ("" for every value); keys are lower case, with the hive as the sandbox writes it
// (HKLM, HKCU) and "*" standing for one key component.
var autostartValues = []struct{ key, name, what string }{
	{`hk*\software\microsoft\windows\currentversion\run`, "", "Run key"},
	{`hk*\software\microsoft\windows\currentversion\runonce`, "", "RunOnce key"},
	{`hk*\software\microsoft\windows\currentversion\runonceex`, "", "RunOnceEx key"},
	{`hk*\software\microsoft\windows\currentversion\runservices`, "", "RunServices key"},
	{`hk*\software\microsoft\windows\currentversion\runservicesonce`, "", "RunServicesOnce key"},
	{`hk*\software\microsoft\windows\currentversion\policies\explorer\run`, "", "policy Run key"},
	{`hk*\software\wow6432node\microsoft\windows\currentversion\run`, "", "Run key (Wow6432Node)"},
	{`hk*\software\wow6432node\microsoft\windows\currentversion\runonce`, "", "RunOnce key (Wow6432Node)"},
	{`hk*\software\microsoft\windows nt\currentversion\winlogon`, "shell", "Winlogon Shell"},
	{`hk*\software\microsoft\windows nt\currentversion\winlogon`, "userinit", "Winlogon Userinit"},
	{`hk*\software\wow6432node\microsoft\windows nt\currentversion\winlogon`, "shell", "Winlogon Shell (Wow6432Node)"},
	{`hk*\software\wow6432node\microsoft\windows nt\currentversion\winlogon`, "userinit", "Winlogon Userinit (Wow6432Node)"},
	{`hk*\software\microsoft\windows nt\currentversion\image file execution options\*`, "debugger", "Image File Execution Options debugger"},
	{`hk*\software\wow6432node\microsoft\windows nt\currentversion\image file execution options\*`, "debugger", "Image File Execution Options debugger (Wow6432Node)"},
	{`hk*\software\microsoft\windows nt\currentversion\windows`, "appinit_dlls", "AppInit_DLLs"},
	{`hk*\software\wow6432node\microsoft\windows nt\currentversion\windows`, "appinit_dlls", "AppInit_DLLs (Wow6432Node)"},
	{`hk*\software\microsoft\windows nt\currentversion\windows`, "load", "Windows Load"},
}

// serviceKey returns the service a key under ...\Services\NAME belongs to (wine stores
// CurrentControlSet as ControlSet001).
func serviceKey(key string) (string, bool) {
	k := strings.ToLower(key)
	for _, cs := range []string{`hklm\system\currentcontrolset\services\`, `hklm\system\controlset001\services\`,
		`hklm\system\controlset002\services\`} {
		if rest, ok := strings.CutPrefix(k, cs); ok && rest != "" {
			name, _, _ := strings.Cut(rest, `\`)
			return cs + name, true
		}
	}
	return "", false
}

// matchKey matches a lower-cased key against a pattern whose "*" stands for one component
// (or, as "hk*", for any hive).
func matchKey(pattern, key string) bool {
	p, k := strings.Split(pattern, `\`), strings.Split(key, `\`)
	if len(p) != len(k) {
		return false
	}
	for i := range p {
		switch {
		case p[i] == "*":
		case strings.HasSuffix(p[i], "*"):
			if !strings.HasPrefix(k[i], strings.TrimSuffix(p[i], "*")) {
				return false
			}
		case p[i] != k[i]:
			return false
		}
	}
	return true
}

// autostartLocation returns the location a registry value is in (the identity a baseline is
// compared on) and what it is, or ok false when the value starts nothing.
func autostartLocation(v inventory.RegistryValue) (loc, what string, ok bool) {
	k, n := strings.ToLower(v.Key), strings.ToLower(v.Name)
	// A service is its key; wine's own services change values (Tcpip\Parameters Hostname) in
	// every run, so only what defines a service to start counts: its image or service DLL.
	if svc, ok := serviceKey(k); ok {
		if n != "imagepath" && n != "servicedll" {
			return "", "", false
		}
		return "service " + svc, "service " + svc[strings.LastIndexByte(svc, '\\')+1:], true
	}
	for _, a := range autostartValues {
		if matchKey(a.key, k) && (a.name == "" || a.name == n) {
			return "value " + k + `\` + n, a.what, true
		}
	}
	return "", "", false
}

// autostartFile reports whether a normalised Windows path is a Startup-folder entry or a
// scheduled-task file.
func autostartFile(n string) (string, bool) {
	switch {
	case strings.Contains(n, `\start menu\programs\startup\`):
		return "Startup folder entry", true
	case strings.HasPrefix(n, `c:\windows\system32\tasks\`), strings.HasPrefix(n, `c:\windows\syswow64\tasks\`),
		strings.HasPrefix(n, `c:\windows\tasks\`):
		return "scheduled task", true
	}
	return "", false
}

// persistence adds sandbox.persistence findings: autostart registry locations and files the
// candidate run wrote that the baseline run never touched.
func persistence(c *collector, base, cand *inventory.Behaviour) {
	baseLocs := map[string]bool{}
	for _, v := range base.Registry {
		if loc, _, ok := autostartLocation(v); ok {
			baseLocs[loc] = true
		}
	}
	seen := map[string]bool{}
	for _, v := range cand.Registry {
		loc, what, ok := autostartLocation(v)
		if !ok || baseLocs[loc] || seen[loc+"\x00"+v.Name] {
			continue
		}
		seen[loc+"\x00"+v.Name] = true
		name := v.Name
		if name == "" {
			name = "(default)"
		}
		c.add(SandboxPersistence, "sandbox:registry/"+strings.ToLower(v.Key)+`\`+strings.ToLower(v.Name),
			fmt.Sprintf("%s: %s value %q = %s set %s%s; the baseline run never touched it",
				what, v.Key, name, v.Value, phaseText(v.Phase), offsetText(v.ClockOffset)),
			map[string]any{"key": v.Key, "name": v.Name, "value": v.Value, "kind": v.Kind, "phase": v.Phase, "clock_offset": v.ClockOffset})
	}
	baseFiles := map[string]bool{}
	for _, w := range base.FileWrites {
		baseFiles[winpath.Normalize(w.Path)] = true
	}
	for _, w := range cand.FileWrites {
		n := winpath.Normalize(w.Path)
		what, ok := autostartFile(n)
		if !ok || baseFiles[n] || seen[n] || w.Kind == "deleted" {
			continue
		}
		seen[n] = true
		c.add(SandboxPersistence, "sandbox:file/"+n, fmt.Sprintf("%s: wrote %s; the baseline run did not", what, w.Path),
			map[string]any{"path": w.Path, "kind": w.Kind, "clock_offset": w.ClockOffset})
	}
}

func phaseText(phase string) string {
	if phase == "install" {
		return "during the install"
	}
	return "while the programs ran"
}

// offsetText names the clock offset an observation was made at, for messages: "" for the
// real clock, else " (guest clock +8d)" and the like.
func offsetText(s int64) string {
	switch {
	case s <= 0:
		return ""
	case s%86400 == 0:
		return fmt.Sprintf(" (guest clock +%dd)", s/86400)
	case s%3600 == 0:
		return fmt.Sprintf(" (guest clock +%dh)", s/3600)
	}
	return fmt.Sprintf(" (guest clock +%ds)", s)
}
