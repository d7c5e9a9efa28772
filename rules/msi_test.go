package rules

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rollgate/rollgate/inventory"
)

// hit is the part of a finding a table test pins.
type hit struct {
	Rule     string
	Severity Severity
	Path     string
}

func hits(fs []Finding) []hit {
	var out []hit
	for _, f := range fs {
		out = append(out, hit{f.Rule, f.Severity, f.Path})
	}
	return out
}

func msiInv(t *inventory.MSITables, shortcuts ...inventory.Shortcut) *inventory.Inventory {
	return &inventory.Inventory{Format: "msi", MSI: t, Shortcuts: shortcuts}
}

func caInv(cas ...inventory.CustomAction) *inventory.Inventory {
	return &inventory.Inventory{Format: "msi", MSI: &inventory.MSITables{}, CustomActions: cas}
}

const runKey = `Software\Microsoft\Windows\CurrentVersion\Run`

var (
	runValue = inventory.RegistryRow{ID: "r", Root: 2, Key: runKey, Name: "AcmeUpdater", Value: `"PF/Acme/AcmePhone.exe" --background`}
	service  = inventory.Service{ID: "s", Name: "AcmeUpdateSvc", DisplayName: "Acme Update Service", ServiceType: 0x10, StartType: 2,
		Account: "LocalSystem", Arguments: "--service", Binary: "PF/Acme/AcmePhone.exe"}
	empty = &inventory.MSITables{}
)

func reg(v inventory.RegistryRow) *inventory.MSITables {
	return &inventory.MSITables{Registry: []inventory.RegistryRow{v}}
}

func svc(s inventory.Service) *inventory.MSITables {
	return &inventory.MSITables{Services: []inventory.Service{s}}
}

func TestMSITables(t *testing.T) {
	runPath := `Registry/HKLM\` + runKey + `\AcmeUpdater`
	changedRun := runValue
	changedRun.Value = `"PF/Acme/evil.exe"`
	wowRunOnce := inventory.RegistryRow{ID: "w", Root: -1, Key: `SOFTWARE\Wow6432Node\Microsoft\Windows\CurrentVersion\RunOnce`, Name: "x", Value: "y.exe"}
	ifeo := inventory.RegistryRow{ID: "i", Root: 2, Key: `Software\Microsoft\Windows NT\CurrentVersion\Image File Execution Options\sethc.exe`, Name: "Debugger", Value: "cmd.exe"}
	appInit := inventory.RegistryRow{ID: "a", Root: 2, Key: `Software\Microsoft\Windows NT\CurrentVersion\Windows`, Name: "AppInit_DLLs", Value: "PF/Acme/x.dll"}
	userInit := inventory.RegistryRow{ID: "u", Root: 2, Key: `Software\Microsoft\Windows NT\CurrentVersion\Winlogon`, Name: "Userinit", Value: "userinit.exe,PF/Acme/x.exe"}
	svcKey := inventory.RegistryRow{ID: "k", Root: 2, Key: `SYSTEM\CurrentControlSet\Services\Evil`, Name: "ImagePath", Value: "x.exe"}
	ssodl := inventory.RegistryRow{ID: "e", Root: 2, Key: `Software\Microsoft\Windows\CurrentVersion\Explorer\ShellServiceObjectDelayLoad`, Name: "x", Value: "{GUID}"}
	activeSetup := inventory.RegistryRow{ID: "as", Root: 2, Key: `Software\Microsoft\Active Setup\Installed Components\{GUID}`, Name: "StubPath", Value: "x.exe"}
	hkuRun := inventory.RegistryRow{ID: "h", Root: 3, Key: `.DEFAULT\` + runKey, Name: "x", Value: "y.exe"}
	plain := inventory.RegistryRow{ID: "p", Root: 2, Key: `Software\Acme`, Name: "InstallDir", Value: "PF/Acme"}
	keyOnly := inventory.RegistryRow{ID: "c", Root: 2, Key: runKey, Name: "+"}
	accountChanged := service
	accountChanged.Account = ""
	accountChanged.StartType = 3
	driver := service
	driver.ServiceType = 1
	startup := inventory.Shortcut{Name: "Acme", Directory: "StartupFolder", Target: "PF/Acme/AcmePhone.exe"}
	commonStartup := inventory.Shortcut{Name: "Acme", Directory: "CommonStartupFolder/Sub", Target: "PF/Acme/AcmePhone.exe"}
	menu := inventory.Shortcut{Name: "Acme", Directory: "ProgramMenuFolder", Target: "PF/Acme/AcmePhone.exe"}
	env := func(name, value string) *inventory.MSITables {
		return &inventory.MSITables{Environment: []inventory.EnvVar{{ID: "p", Name: name, Value: value}}}
	}

	tests := []struct {
		name       string
		base, cand *inventory.Inventory
		want       []hit
	}{
		{"Run value added", msiInv(empty), msiInv(reg(runValue)), []hit{{MSIAutostartAdded, High, runPath}}},
		{"Run value kept", msiInv(reg(runValue)), msiInv(reg(runValue)), nil},
		{"Run value re-cased key kept", msiInv(reg(inventory.RegistryRow{Root: 2, Key: `SOFTWARE\MICROSOFT\Windows\CurrentVersion\Run`, Name: "acmeupdater", Value: runValue.Value})), msiInv(reg(runValue)), nil},
		{"Run value changed", msiInv(reg(runValue)), msiInv(reg(changedRun)), []hit{{MSIAutostartAdded, High, runPath}}},
		{"RunOnce, HKMU, Wow6432Node", msiInv(empty), msiInv(reg(wowRunOnce)), []hit{{MSIAutostartAdded, High, `Registry/HKMU\` + wowRunOnce.Key + `\x`}}},
		{"HKU .DEFAULT Run", msiInv(empty), msiInv(reg(hkuRun)), []hit{{MSIAutostartAdded, High, `Registry/HKU\` + hkuRun.Key + `\x`}}},
		{"services key", msiInv(empty), msiInv(reg(svcKey)), []hit{{MSIAutostartAdded, High, `Registry/HKLM\` + svcKey.Key + `\ImagePath`}}},
		{"ShellServiceObjectDelayLoad", msiInv(empty), msiInv(reg(ssodl)), []hit{{MSIAutostartAdded, High, `Registry/HKLM\` + ssodl.Key + `\x`}}},
		{"Active Setup", msiInv(empty), msiInv(reg(activeSetup)), []hit{{MSIAutostartAdded, High, `Registry/HKLM\` + activeSetup.Key + `\StubPath`}}},
		{"plain value", msiInv(empty), msiInv(reg(plain)), nil},
		{"Run key created, no value", msiInv(empty), msiInv(reg(keyOnly)), nil},
		{"Run value, no baseline", nil, msiInv(reg(runValue)), []hit{{MSIAutostartAdded, Medium, runPath}}},
		{"Run value, baseline without tables", msiInv(nil), msiInv(reg(runValue)), []hit{{MSIAutostartAdded, Medium, runPath}}},
		{"IFEO Debugger, no baseline", nil, msiInv(reg(ifeo)), []hit{{MSIAutostartAdded, High, `Registry/HKLM\` + ifeo.Key + `\Debugger`}}},
		{"AppInit_DLLs, no baseline", nil, msiInv(reg(appInit)), []hit{{MSIAutostartAdded, High, `Registry/HKLM\` + appInit.Key + `\AppInit_DLLs`}}},
		{"Winlogon Userinit, no baseline", nil, msiInv(reg(userInit)), []hit{{MSIAutostartAdded, High, `Registry/HKLM\` + userInit.Key + `\Userinit`}}},

		{"service added", msiInv(empty), msiInv(svc(service)), []hit{{MSIServiceAdded, High, "Service/AcmeUpdateSvc"}}},
		{"service kept", msiInv(svc(service)), msiInv(svc(service)), nil},
		{"service changed", msiInv(svc(service)), msiInv(svc(accountChanged)), []hit{{MSIServiceAdded, High, "Service/AcmeUpdateSvc"}}},
		{"kernel driver", msiInv(svc(service)), msiInv(svc(driver)), []hit{{MSIServiceAdded, High, "Service/AcmeUpdateSvc"}}},
		{"service, no baseline", nil, msiInv(svc(service)), []hit{{MSIServiceAdded, Medium, "Service/AcmeUpdateSvc"}}},

		{"Startup shortcut added", msiInv(empty, menu), msiInv(empty, menu, startup), []hit{{MSIAutostartAdded, High, "Shortcut/StartupFolder/Acme"}}},
		{"CommonStartup shortcut added", msiInv(empty), msiInv(empty, commonStartup), []hit{{MSIAutostartAdded, High, "Shortcut/CommonStartupFolder/Sub/Acme"}}},
		{"Startup shortcut kept", msiInv(empty, startup), msiInv(empty, startup), nil},
		{"Start menu shortcut", msiInv(empty), msiInv(empty, menu), nil},
		{"Startup shortcut, no baseline", nil, msiInv(empty, startup), []hit{{MSIAutostartAdded, Medium, "Shortcut/StartupFolder/Acme"}}},

		{"SelfReg added", msiInv(empty), msiInv(&inventory.MSITables{SelfReg: []inventory.SelfReg{{FileKey: "x", File: "PF/Acme/x.dll"}}}),
			[]hit{{MSISelfRegAdded, High, "PF/Acme/x.dll"}}},
		{"SelfReg kept", msiInv(&inventory.MSITables{SelfReg: []inventory.SelfReg{{File: "PF/Acme/x.dll"}}}), msiInv(&inventory.MSITables{SelfReg: []inventory.SelfReg{{File: "PF/Acme/X.DLL"}}}), nil},
		{"COM server added", msiInv(empty), msiInv(&inventory.MSITables{COMServers: []inventory.COMServer{{Table: "Class", ID: "{C}", Context: "InprocServer32", Server: "PF/Acme/x.dll"}}}),
			[]hit{{MSICOMServerAdded, Medium, "Class/{C}"}}},
		{"COM server, no baseline", nil, msiInv(&inventory.MSITables{COMServers: []inventory.COMServer{{Table: "Class", ID: "{C}", Context: "InprocServer32", Server: "PF/Acme/x.dll"}}}),
			[]hit{{MSICOMServerAdded, Low, "Class/{C}"}}},

		{"COM server by Registry rows", msiInv(empty), msiInv(reg(inventory.RegistryRow{Root: 0, Key: `CLSID\{C}\InprocServer32`, Value: "PF/Acme/x.dll"})),
			[]hit{{MSICOMServerAdded, Medium, "Registry/{C}"}}},
		{"COM server moved from Class to Registry rows", msiInv(&inventory.MSITables{COMServers: []inventory.COMServer{{Table: "Class", ID: "{C}", Context: "InprocServer32", Server: "PF/Acme/x.dll"}}}),
			msiInv(reg(inventory.RegistryRow{Root: 2, Key: `Software\Classes\CLSID\{C}\InprocServer32`, Value: "PF/Acme/x.dll"})), nil},
		{"COM server by Registry rows, new DLL", msiInv(reg(inventory.RegistryRow{Root: 0, Key: `CLSID\{C}\InprocServer32`, Value: "PF/Acme/x.dll"})),
			msiInv(reg(inventory.RegistryRow{Root: 0, Key: `CLSID\{C}\InprocServer32`, Value: "PF/Acme/evil.dll"})),
			[]hit{{MSICOMServerAdded, Medium, "Registry/{C}"}}},
		{"system PATH prepended", msiInv(empty), msiInv(env("=-*Path", "PF/Acme/;[~]")), []hit{{MSIPathPrepended, High, "Environment/p"}}},
		{"user PATH prepended", msiInv(empty), msiInv(env("PATH", "PF/Acme/;[~]")), []hit{{MSIPathPrepended, Medium, "Environment/p"}}},
		{"system PATH replaced", msiInv(empty), msiInv(env("*PATH", "PF/Acme/")), []hit{{MSIPathPrepended, High, "Environment/p"}}},
		{"PATH appended", msiInv(empty), msiInv(env("*PATH", "[~];PF/Acme/")), nil},
		{"PATH removed at install", msiInv(empty), msiInv(env("!*PATH", "PF/Acme/;[~]")), nil},
		{"PATH prepend kept", msiInv(env("*PATH", "PF/Acme/;[~]")), msiInv(env("=*PATH", "pf/acme/;[~]")), nil},
		{"other variable", msiInv(empty), msiInv(env("*ACME_HOME", "PF/Acme/")), nil},
		{"system PATH, no baseline", nil, msiInv(env("*PATH", "PF/Acme/;[~]")), []hit{{MSIPathPrepended, Medium, "Environment/p"}}},

		{"schtasks custom action", msiInv(empty), caInv(inventory.CustomAction{Action: "Task", Type: 34, Source: "SystemFolder", Target: `schtasks.exe /Create /SC ONLOGON /TN Acme /TR "[#AcmePhone.exe]"`}),
			[]hit{{MSIAutostartAdded, High, "CustomAction/Task"}}},
		{"sc create custom action, no baseline", nil, caInv(inventory.CustomAction{Action: "Svc", Type: 34, Target: `sc.exe create AcmeSvc binPath= x.exe`}),
			[]hit{{MSIAutostartAdded, Medium, "CustomAction/Svc"}}},
		{"reg add Run custom action", msiInv(empty), caInv(inventory.CustomAction{Action: "Run", Type: 50, Source: "CMD", Target: `reg add HKCU\Software\Microsoft\Windows\CurrentVersion\Run /v x /d y.exe`}),
			[]hit{{MSIAutostartAdded, High, "CustomAction/Run"}}},
		{"schtasks custom action kept", caInv(inventory.CustomAction{Action: "Task", Target: "schtasks /create /tn x"}), caInv(inventory.CustomAction{Action: "Task", Target: "schtasks /create /tn x"}), nil},
		{"plain custom action", msiInv(empty), caInv(inventory.CustomAction{Action: "Go", Type: 1, Source: "helper", Target: "Go"}), nil},
		{"win.ini load=", msiInv(empty), msiInv(&inventory.MSITables{IniFiles: []inventory.IniEdit{{ID: "i", File: "[WindowsFolder]/win.ini", Section: "windows", Key: "load", Value: "x.exe"}}}),
			[]hit{{MSIAutostartAdded, High, "IniFile/i"}}},
		{"win.ini load=, no baseline", nil, msiInv(&inventory.MSITables{IniFiles: []inventory.IniEdit{{ID: "i", File: "WindowsFolder/WIN.INI", Section: "Windows", Key: "Load", Value: "x.exe"}}}),
			[]hit{{MSIAutostartAdded, High, "IniFile/i"}}},
		{"product ini", msiInv(empty), msiInv(&inventory.MSITables{IniFiles: []inventory.IniEdit{{ID: "i", File: "PF/Acme/acme.ini", Section: "windows", Key: "load", Value: "x"}}}), nil},
		{"no tables at all", msiInv(nil), msiInv(nil), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MSITables(tt.base, tt.cand)
			if d := cmp.Diff(tt.want, hits(got)); d != "" {
				t.Errorf("MSITables (-want +got)\n%s", d)
			}
		})
	}
}

// TestMSIOrphanCode: code in an unreferenced stream is a finding with or without a baseline,
// also inside a nested package; data there is inventoried but not a finding.
func TestMSIOrphanCode(t *testing.T) {
	cand := &inventory.Inventory{Format: "msi", Entries: []inventory.Entry{
		{Path: "(orphan-stream)/AcmeUpdate.dat", Kind: inventory.KindPE, SHA256: "a"},
		{Path: "(orphan-stream)/notes", Kind: inventory.KindData},
		{Path: "PF/Acme/setup.msi/(orphan-stream)/x", Kind: inventory.KindScript},
		{Path: "PF/Acme/core.dll", Kind: inventory.KindPE},
	}}
	want := []hit{{MSIOrphanCode, Medium, "(orphan-stream)/AcmeUpdate.dat"}, {MSIOrphanCode, Medium, "PF/Acme/setup.msi/(orphan-stream)/x"}}
	for _, base := range []*inventory.Inventory{nil, cand} {
		if d := cmp.Diff(want, hits(MSITables(base, cand))); d != "" {
			t.Errorf("MSITables(base %v) (-want +got)\n%s", base != nil, d)
		}
	}
}

// TestMSIServiceMessage: the message names the service, its account and start type.
func TestMSIServiceMessage(t *testing.T) {
	fs := MSITables(msiInv(empty), msiInv(svc(service)))
	if len(fs) != 1 {
		t.Fatalf("MSITables = %d findings, want 1", len(fs))
	}
	want := "installs service AcmeUpdateSvc (Acme Update Service) running PF/Acme/AcmePhone.exe --service as LocalSystem, start type auto"
	if fs[0].Message != want {
		t.Errorf("message = %q, want %q", fs[0].Message, want)
	}
}

// TestMSIRulesCatalogued: every rule MSITables emits has a Catalog entry (ids are contract).
func TestMSIRulesCatalogued(t *testing.T) {
	for _, id := range []string{MSIAutostartAdded, MSIServiceAdded, MSIOrphanCode, MSISelfRegAdded, MSICOMServerAdded, MSIPathPrepended} {
		found := false
		for _, r := range Catalog {
			found = found || r.ID == id
		}
		if !found {
			t.Errorf("%s is not in Catalog", id)
		}
	}
}
