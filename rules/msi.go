package rules

// Rules over the MSI tables that start code outside the File table: autostart registry values
// and Startup-folder shortcuts, services, self-registration, COM server registration, PATH
// edits, and compound-file streams nothing references.
//
// Severities. With a baseline whose tables were read, a row the baseline did not have (or
// had with other values) gets the rule's default: msi.autostart-added and msi.service-added
// high (DESIGN.md), msi.selfreg-added high (the installer calls the DLL's DllRegisterServer
// in its own, usually SYSTEM, process: a custom action by another name), msi.path-prepended
// high for the system PATH and medium for a user's (every program that searches PATH then
// finds the product's folder first), msi.com-server-added medium (COM loads the server only
// for clients that ask for its class). msi.orphan-code is medium always: Windows Installer
// never reads an unreferenced stream, but a custom action or a later stage can.
//
// Without one (base nil: `inspect`; or a baseline recorded before these tables were read) a
// product's first installer legitimately installs services, Run values and COM servers, so
// what it adds is reported at medium (low for COM servers) and does not fail the default
// gate; the exception is a location a legitimate installer has no reason to write, which
// hijacks every process or the logon itself rather than starting one program (Image File
// Execution Options Debugger, AppInit_DLLs, Winlogon Shell/Userinit/Notify, Session Manager
// BootExecute/AppCertDlls, Startup folder redirection, win.ini load=/run=, system.ini
// shell=): high with or without a baseline.

import (
	"fmt"
	"path"
	"strings"

	"github.com/rollgate/rollgate/inventory"
)

// MSITables returns the findings of the MSI table rules for cand against base (nil: no
// baseline). The caller merges them with Static's and sorts.
func MSITables(base, cand *inventory.Inventory) []Finding {
	if cand == nil {
		return nil
	}
	var out []Finding
	out = append(out, msiOrphanCode(cand)...)
	if cand.MSI == nil && len(cand.Shortcuts) == 0 && len(cand.CustomActions) == 0 {
		return out
	}
	var bt *inventory.MSITables
	known := base != nil && base.MSI != nil
	if known {
		bt = base.MSI
	}
	ct := cand.MSI
	if ct == nil {
		ct = &inventory.MSITables{}
	}
	var baseShortcuts []inventory.Shortcut
	if base != nil {
		baseShortcuts = base.Shortcuts
	}
	j := &msiJudge{known: known, unknown: " (no baseline to compare with)"}
	if base != nil && !known {
		j.unknown = " (the baseline was recorded without MSI tables; record it again to compare)"
	}
	j.registry(bt, ct)
	j.startupShortcuts(base != nil, baseShortcuts, cand.Shortcuts)
	j.iniAutostart(bt, ct)
	var baseCAs []inventory.CustomAction
	if base != nil {
		baseCAs = base.CustomActions
	}
	j.customActionAutostart(base != nil, baseCAs, cand.CustomActions)
	j.services(bt, ct)
	j.selfReg(bt, ct)
	j.comServers(bt, ct)
	j.path(bt, ct)
	return append(out, j.out...)
}

// msiJudge collects findings; known says the baseline's tables were read, unknown is the
// note a finding carries when they were not.
type msiJudge struct {
	known   bool
	unknown string
	out     []Finding
}

// add records a finding at sev when the baseline is known, else at firstDay.
func (j *msiJudge) add(rule string, firstDay Severity, p, msg string, ev map[string]any) {
	sev := Default(rule)
	if !j.known {
		sev = firstDay
		msg += j.unknown
	}
	j.out = append(j.out, Finding{Rule: rule, Severity: sev, Path: p, Message: msg, Evidence: ev})
}

// msiOrphanCode reports code held by streams that nothing in the package references.
func msiOrphanCode(cand *inventory.Inventory) []Finding {
	var out []Finding
	for _, e := range cand.Entries {
		if !isOrphanPath(e.Path) || !e.Kind.IsCode() {
			continue
		}
		out = append(out, Finding{Rule: MSIOrphanCode, Severity: Default(MSIOrphanCode), Path: e.Path,
			Message:  fmt.Sprintf("a compound-file stream no table references holds %s code (%d bytes); Windows Installer never installs it, something else must be meant to read it", e.Kind, e.Size),
			Evidence: map[string]any{"sha256": e.SHA256, "kind": e.Kind, "size": e.Size}})
	}
	return out
}

const orphanRoot = "(orphan-stream)" // unpack/msi.OrphanRoot; rules does not import unpack

func isOrphanPath(p string) bool {
	return strings.HasPrefix(p, orphanRoot+"/") || strings.Contains(p, "/"+orphanRoot+"/")
}

// Registry roots as the Registry table numbers them.
var regRoots = map[int]string{-1: "HKMU", 0: "HKCR", 1: "HKCU", 2: "HKLM", 3: "HKU"}

func regRootName(r int) string {
	if n, ok := regRoots[r]; ok {
		return n
	}
	return fmt.Sprintf("root(%d)", r)
}

// autostartClass names the autostart location a Registry row writes, "" for none. hijack
// marks locations that act on every process (or every logon) rather than start a program.
func autostartClass(v inventory.RegistryRow) (class string, hijack bool) {
	key := strings.ToLower(strings.Trim(strings.ReplaceAll(v.Key, "/", `\`), `\`))
	name := strings.ToLower(v.Name)
	switch v.Root {
	case 0: // HKCR is HKLM\Software\Classes merged with the user's
		key = `software\classes\` + key
	case 3: // HKU\<SID or .DEFAULT>\...: judged as that user's HKCU
		_, rest, ok := strings.Cut(key, `\`)
		if !ok {
			return "", false
		}
		key = rest
	case -1, 1, 2:
	default:
		return "", false
	}
	key = strings.Replace(key, `software\wow6432node\`, `software\`, 1)
	key = strings.Replace(key, `software\classes\wow6432node\`, `software\classes\`, 1)
	under := func(prefix string) bool { return key == prefix || strings.HasPrefix(key, prefix+`\`) }
	const cv = `software\microsoft\windows\currentversion\`
	const nt = `software\microsoft\windows nt\currentversion\`
	switch {
	case key == cv+"run" || key == cv+"runonce" || under(cv+"runonceex") || key == cv+"runservices" ||
		key == cv+"runservicesonce" || key == cv+`policies\explorer\run` || key == nt+`terminal server\install\`+cv+"run":
		return "Run key", false
	case key == nt+"winlogon" && (name == "shell" || name == "userinit" || name == "taskman" || name == "appsetup"):
		return "Winlogon " + v.Name, true
	case under(nt + `winlogon\notify`):
		return "Winlogon notification package", true
	case strings.HasPrefix(key, nt+`image file execution options\`) && (name == "debugger" || name == "verifierdlls"):
		return "Image File Execution Options " + v.Name, true
	case strings.HasPrefix(key, nt+`silentprocessexit\`) && name == "monitorprocess":
		return "SilentProcessExit MonitorProcess", true
	case (key == nt+"windows") && (name == "appinit_dlls" || name == "load" || name == "run"):
		return "Windows " + v.Name, true
	case strings.HasPrefix(key, `system\currentcontrolset\services\`) || strings.HasPrefix(key, `system\controlset00`):
		return "service key", false
	case strings.HasPrefix(key, `system\currentcontrolset\control\session manager`) &&
		(name == "bootexecute" || name == "appcertdlls" || strings.Contains(key, "appcertdlls")):
		return "Session Manager " + v.Name, true
	case under(cv+`explorer\shellserviceobjectdelayload`) || under(cv+`explorer\shellserviceobjects`) ||
		under(cv+`explorer\browser helper objects`) || under(cv+`explorer\shelliconoverlayidentifiers`) ||
		under(cv+`shell extensions\approved`) || under(cv+`explorer\shellexecutehooks`):
		return "Explorer shell extension", false
	case strings.HasPrefix(key, `software\classes\`) && strings.Contains(key, `\shellex\`):
		return "Explorer shell extension", false
	case under(`software\microsoft\active setup\installed components`) && name == "stubpath":
		return "Active Setup StubPath", false
	case under(cv+`explorer\user shell folders`) || under(cv+`explorer\shell folders`):
		if name == "startup" || name == "common startup" {
			return "Startup folder redirection", true
		}
	}
	return "", false
}

// regLocation identifies a registry value: root (HKMU standing for both per-machine and
// per-user), key and name, case-folded as Windows compares them.
func regLocation(v inventory.RegistryRow) string {
	return regRootName(v.Root) + `\` + strings.ToLower(v.Key) + `\` + strings.ToLower(v.Name)
}

func (j *msiJudge) registry(bt, ct *inventory.MSITables) {
	had := map[string]string{}
	if bt != nil {
		for _, v := range bt.Registry {
			had[regLocation(v)] = v.Value
		}
	}
	for _, v := range ct.Registry {
		class, hijack := autostartClass(v)
		if class == "" || v.Value == "" && (v.Name == "" || v.Name == "+" || v.Name == "-" || v.Name == "*") {
			continue // creates or deletes the key, writes no value
		}
		loc := regLocation(v)
		old, ok := had[loc]
		if ok && old == v.Value {
			continue
		}
		shown := regRootName(v.Root) + `\` + v.Key + `\` + v.Name
		ev := map[string]any{"root": v.Root, "key": v.Key, "name": v.Name, "value": v.Value, "component": v.Component, "location": class}
		msg := fmt.Sprintf("writes %s (%s) = %q", shown, class, v.Value)
		if ok {
			ev["baseline_value"] = old
			msg = fmt.Sprintf("changes %s (%s) from %q to %q", shown, class, old, v.Value)
		}
		first := Medium
		if hijack {
			first = High
		}
		j.add(MSIAutostartAdded, first, "Registry/"+shown, msg, ev)
	}
}

// iniAutostart reports IniFile rows that write the legacy autostart entries Windows still
// honours: win.ini [windows] load= / run= and system.ini [boot] shell=.
func (j *msiJudge) iniAutostart(bt, ct *inventory.MSITables) {
	key := func(e inventory.IniEdit) string {
		return strings.ToLower(path.Base(e.File) + "|" + e.Section + "|" + e.Key + "|" + e.Value)
	}
	had := map[string]bool{}
	if bt != nil {
		for _, e := range bt.IniFiles {
			had[key(e)] = true
		}
	}
	for _, e := range ct.IniFiles {
		file, sec, k := strings.ToLower(path.Base(e.File)), strings.ToLower(e.Section), strings.ToLower(e.Key)
		hit := file == "win.ini" && sec == "windows" && (k == "load" || k == "run") || file == "system.ini" && sec == "boot" && k == "shell"
		if !hit || had[key(e)] {
			continue
		}
		j.add(MSIAutostartAdded, High, "IniFile/"+e.ID, fmt.Sprintf("writes %s [%s] %s=%s, started at every logon", path.Base(e.File), e.Section, e.Key, e.Value),
			map[string]any{"file": e.File, "section": e.Section, "key": e.Key, "value": e.Value, "location": "ini autostart"})
	}
}

// startupFolders are the standard folders whose shortcuts Windows starts at logon.
var startupFolders = map[string]bool{"StartupFolder": true, "CommonStartupFolder": true}

func inStartup(sc inventory.Shortcut) bool {
	first, _, _ := strings.Cut(sc.Directory, "/")
	return startupFolders[first]
}

func (j *msiJudge) startupShortcuts(hasBase bool, base, cand []inventory.Shortcut) {
	had := map[inventory.Shortcut]bool{}
	for _, sc := range base {
		sc.Directory, sc.Name = strings.ToLower(sc.Directory), strings.ToLower(sc.Name)
		had[sc] = true
	}
	for _, sc := range cand {
		if !inStartup(sc) {
			continue
		}
		k := sc
		k.Directory, k.Name = strings.ToLower(sc.Directory), strings.ToLower(sc.Name)
		if had[k] {
			continue
		}
		ev := map[string]any{"directory": sc.Directory, "name": sc.Name, "target": sc.Target, "arguments": sc.Arguments, "location": "Startup folder"}
		msg := fmt.Sprintf("puts shortcut %q in %s, started at every logon: %s %s", sc.Name, sc.Directory, sc.Target, sc.Arguments)
		// Shortcuts were read before the other tables: a baseline that has them is known.
		sev, first := Default(MSIAutostartAdded), Medium
		if !hasBase {
			sev = first
			msg += " (no baseline to compare with)"
		}
		j.out = append(j.out, Finding{Rule: MSIAutostartAdded, Severity: sev, Path: "Shortcut/" + path.Join(sc.Directory, sc.Name), Message: strings.TrimSpace(msg), Evidence: ev})
	}
}

// caAutostart names the persistence a custom action's command line creates where it can be
// seen in the row (an exe or script custom action running schtasks, sc, reg or PowerShell),
// "" for none. Commands built at run time from properties stay invisible here.
func caAutostart(ca inventory.CustomAction) string {
	cmd := strings.ToLower(ca.Source + " " + ca.Target)
	has := func(words ...string) bool {
		for _, w := range words {
			if !strings.Contains(cmd, w) {
				return false
			}
		}
		return true
	}
	switch {
	case has("schtasks", "/create"), has("register-scheduledtask"), has("new-scheduledtask"):
		return "scheduled task"
	case has("sc ", " create "), has("sc.exe", " create "), has("new-service"):
		return "service"
	case has("reg", "add", `\currentversion\run`), has("set-itemproperty", `\currentversion\run`), has("new-itemproperty", `\currentversion\run`):
		return "Run key"
	}
	return ""
}

// customActionAutostart reports custom actions whose command line visibly creates a
// scheduled task, a service or a Run value, unless the baseline had the same action.
func (j *msiJudge) customActionAutostart(hasBase bool, base, cand []inventory.CustomAction) {
	had := map[inventory.CustomAction]bool{}
	for _, ca := range base {
		had[ca] = true
	}
	for _, ca := range cand {
		what := caAutostart(ca)
		if what == "" || had[ca] {
			continue
		}
		sev, msg := Default(MSIAutostartAdded), fmt.Sprintf("custom action %s creates a %s: %s %s", ca.Action, what, ca.Source, ca.Target)
		if !hasBase {
			sev, msg = Medium, msg+" (no baseline to compare with)"
		}
		j.out = append(j.out, Finding{Rule: MSIAutostartAdded, Severity: sev, Path: "CustomAction/" + ca.Action, Message: msg,
			Evidence: map[string]any{"action": ca.Action, "type": ca.Type, "source": ca.Source, "target": ca.Target, "location": what}})
	}
}

var startTypes = map[int]string{0: "boot", 1: "system", 2: "auto", 3: "demand", 4: "disabled"}

func startTypeName(t int) string {
	if n, ok := startTypes[t]; ok {
		return n
	}
	return fmt.Sprintf("type %d", t)
}

func serviceAccount(s inventory.Service) string {
	if s.Account == "" {
		return "LocalSystem"
	}
	return s.Account
}

// serviceFacts are what the comparison with the baseline looks at.
func serviceFacts(s inventory.Service) [5]string {
	return [5]string{strings.ToLower(serviceAccount(s)), fmt.Sprint(s.StartType), fmt.Sprint(s.ServiceType), s.Arguments, strings.ToLower(s.Binary)}
}

func (j *msiJudge) services(bt, ct *inventory.MSITables) {
	had := map[string]inventory.Service{}
	if bt != nil {
		for _, s := range bt.Services {
			had[strings.ToLower(s.Name)] = s
		}
	}
	for _, s := range ct.Services {
		old, ok := had[strings.ToLower(s.Name)]
		if ok && serviceFacts(old) == serviceFacts(s) {
			continue
		}
		kind := "service"
		if s.ServiceType&0x3 != 0 {
			kind = "kernel driver"
		}
		ev := map[string]any{"name": s.Name, "display_name": s.DisplayName, "account": serviceAccount(s),
			"start_type": startTypeName(s.StartType), "service_type": s.ServiceType, "binary": s.Binary, "arguments": s.Arguments}
		msg := fmt.Sprintf("installs %s %s (%s) running %s %s as %s, start type %s", kind, s.Name, s.DisplayName,
			msiOr(s.Binary, "component "+s.Component), s.Arguments, serviceAccount(s), startTypeName(s.StartType))
		if ok {
			ev["baseline"] = map[string]any{"account": serviceAccount(old), "start_type": startTypeName(old.StartType),
				"service_type": old.ServiceType, "binary": old.Binary, "arguments": old.Arguments}
			msg = fmt.Sprintf("changes service %s: account %s→%s, start type %s→%s, binary %s→%s", s.Name,
				serviceAccount(old), serviceAccount(s), startTypeName(old.StartType), startTypeName(s.StartType), old.Binary, s.Binary)
		}
		j.add(MSIServiceAdded, Medium, "Service/"+s.Name, strings.Join(strings.Fields(msg), " "), ev)
	}
}

func (j *msiJudge) selfReg(bt, ct *inventory.MSITables) {
	had := map[string]bool{}
	if bt != nil {
		for _, s := range bt.SelfReg {
			had[strings.ToLower(s.File)] = true
		}
	}
	for _, s := range ct.SelfReg {
		if had[strings.ToLower(s.File)] {
			continue
		}
		j.add(MSISelfRegAdded, Medium, s.File, fmt.Sprintf("the installer calls DllRegisterServer of %s (SelfReg), running its code during the install", s.File),
			map[string]any{"file": s.File, "file_key": s.FileKey})
	}
}

// comServersOf lists a package's COM server registrations: the Class, TypeLib and AppId
// rows, and Registry rows that write a CLSID's InprocServer32 / LocalServer32 default value
// directly (as WiX heat authors COM registration).
func comServersOf(t *inventory.MSITables) []inventory.COMServer {
	out := append([]inventory.COMServer(nil), t.COMServers...)
	for _, v := range t.Registry {
		if v.Name != "" || v.Value == "" {
			continue
		}
		parts := strings.Split(strings.Trim(v.Key, `\`), `\`)
		if v.Root != 0 {
			if len(parts) < 2 || !strings.EqualFold(parts[0], "Software") || !strings.EqualFold(parts[1], "Classes") {
				continue
			}
			parts = parts[2:]
		}
		if len(parts) > 0 && strings.EqualFold(parts[0], "Wow6432Node") {
			parts = parts[1:]
		}
		if len(parts) != 3 || !strings.EqualFold(parts[0], "CLSID") ||
			!strings.EqualFold(parts[2], "InprocServer32") && !strings.EqualFold(parts[2], "LocalServer32") {
			continue
		}
		out = append(out, inventory.COMServer{Table: "Registry", ID: parts[1], Context: parts[2], Server: v.Value, Component: v.Component})
	}
	return out
}

func (j *msiJudge) comServers(bt, ct *inventory.MSITables) {
	key := func(c inventory.COMServer) string {
		return strings.ToLower(c.ID) + "|" + strings.ToLower(c.Context) + "|" + strings.ToLower(c.Server)
	}
	had := map[string]bool{}
	if bt != nil {
		for _, c := range comServersOf(bt) {
			had[key(c)] = true
		}
	}
	for _, c := range comServersOf(ct) {
		if had[key(c)] || c.Server == "" {
			continue
		}
		j.add(MSICOMServerAdded, Low, c.Table+"/"+c.ID, fmt.Sprintf("registers %s as the %s server of %s %s", c.Server, msiOr(c.Context, "COM"), c.Table, c.ID),
			map[string]any{"table": c.Table, "id": c.ID, "context": c.Context, "server": c.Server})
	}
}

// pathEdit says how an Environment row changes PATH: the folders it puts first (before the
// existing value, or replacing it), and whether it edits the system environment.
func pathEdit(v inventory.EnvVar) (first []string, system bool, ok bool) {
	name := strings.TrimLeft(v.Name, "=+-!*")
	prefix := v.Name[:len(v.Name)-len(name)]
	if !strings.EqualFold(name, "PATH") || strings.Contains(prefix, "!") { // '!': removed at install
		return nil, false, false
	}
	system = strings.Contains(prefix, "*")
	val := v.Value
	switch {
	case strings.HasPrefix(val, "[~]"):
		return nil, system, false // appended after the existing value
	case strings.HasSuffix(val, "[~]"):
		val = strings.TrimSuffix(val, "[~]")
	}
	for _, p := range strings.Split(val, ";") {
		if p = strings.TrimSpace(p); p != "" && p != "[~]" {
			first = append(first, p)
		}
	}
	return first, system, len(first) > 0
}

func (j *msiJudge) path(bt, ct *inventory.MSITables) {
	had := map[string]bool{}
	if bt != nil {
		for _, v := range bt.Environment {
			if first, system, ok := pathEdit(v); ok {
				had[fmt.Sprint(system, strings.ToLower(strings.Join(first, ";")))] = true
			}
		}
	}
	for _, v := range ct.Environment {
		first, system, ok := pathEdit(v)
		if !ok || had[fmt.Sprint(system, strings.ToLower(strings.Join(first, ";")))] {
			continue
		}
		scope, sev := "the user's", Medium
		if system {
			scope, sev = "the system", High
		}
		ev := map[string]any{"name": v.Name, "value": v.Value, "system": system, "first": first}
		msg := fmt.Sprintf("puts %s first in %s PATH: programs that search PATH find its files before the system's", strings.Join(first, ";"), scope)
		f := Finding{Rule: MSIPathPrepended, Severity: sev, Path: "Environment/" + v.ID, Message: msg, Evidence: ev}
		if !j.known {
			f.Severity = Medium
			f.Message += j.unknown
		}
		j.out = append(j.out, f)
	}
}

// msiOr is s, or d when s is empty.
func msiOr(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
