package rules

import (
	"slices"
	"testing"

	"github.com/rollgate/rollgate/inventory"
)

func withReg(b *inventory.Behaviour, v ...inventory.RegistryValue) *inventory.Behaviour {
	c := *b
	c.Registry = append(slices.Clone(b.Registry), v...)
	return &c
}

func TestBehaviourMessages(t *testing.T) {
	base := &inventory.Behaviour{Ran: true, Network: []inventory.NetEvent{}}
	cand := &inventory.Behaviour{Ran: true,
		Network: []inventory.NetEvent{{Proto: "dns", Name: "beacon.acme-telemetry.test", QType: "A", ClockOffset: 691200}},
		Registry: []inventory.RegistryValue{{Key: `HKCU\Software\Microsoft\Windows\CurrentVersion\Run`, Name: "AcmeHelper",
			Value: `"x.exe"`, Kind: "added", Phase: "run"}},
	}
	var got []string
	for _, f := range Behaviour(base, cand, nil, nil) {
		got = append(got, f.Rule+": "+f.Message)
	}
	want := []string{
		`sandbox.network: DNS A query for beacon.acme-telemetry.test that the baseline run never made (guest clock +8d)`,
		`sandbox.persistence: Run key: HKCU\Software\Microsoft\Windows\CurrentVersion\Run value "AcmeHelper" = "x.exe" set while the programs ran; the baseline run never touched it`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("Behaviour messages =\n%q\nwant\n%q", got, want)
	}
}

func TestBehaviour(t *testing.T) {
	shipped := inv(pe("ProgramFiles64Folder/Beacon/beacon.exe", "b", "", nil), pe("ProgramFiles64Folder/Beacon/ffmpeg.dll", "f", "", nil))
	base := &inventory.Behaviour{Ran: true,
		Network:    []inventory.NetEvent{{Proto: "dns", Name: "updates.beacon.test"}, {Proto: "tcp", Name: "updates.beacon.test", Addr: "198.51.100.7", Port: 443}},
		DLLLoads:   []inventory.DLLLoad{{Path: `C:\Program Files\Beacon\ffmpeg.dll`, Type: "native"}, {Path: `C:\windows\system32\ws2_32.dll`, Type: "builtin"}},
		FileWrites: []inventory.FileWrite{{Path: `C:\windows\Installer\{11111111-1111-1111-1111-111111111111}.msi`}},
		Processes:  []inventory.Process{{Image: `C:\Program Files\Beacon\beacon.exe`}},
	}
	with := func(f func(b *inventory.Behaviour)) *inventory.Behaviour {
		c := *base
		c.Network = slices.Clone(base.Network)
		c.DLLLoads = slices.Clone(base.DLLLoads)
		c.FileWrites = slices.Clone(base.FileWrites)
		c.Processes = slices.Clone(base.Processes)
		f(&c)
		return &c
	}
	tests := []struct {
		name  string
		base  *inventory.Behaviour
		cand  *inventory.Behaviour
		allow []string
		want  []string
	}{
		{"same", base, with(func(b *inventory.Behaviour) {}), nil, nil},
		{"benign: new product code", base, with(func(b *inventory.Behaviour) {
			b.FileWrites[0].Path = `C:\windows\Installer\{22222222-2222-2222-2222-222222222222}.msi`
		}), nil, nil},
		{"new name", base, with(func(b *inventory.Behaviour) {
			b.Network = append(b.Network, inventory.NetEvent{Proto: "dns", Name: "c2.beacon.invalid"})
		}), nil, []string{SandboxNetwork}},
		{"new direct address", base, with(func(b *inventory.Behaviour) {
			b.Network = append(b.Network, inventory.NetEvent{Proto: "tcp", Addr: "198.51.100.23", Port: 8443})
		}), nil, []string{SandboxNetwork}},
		{"allowed name", base, with(func(b *inventory.Behaviour) {
			b.Network = append(b.Network, inventory.NetEvent{Proto: "dns", Name: "cdn.beacon.test"})
		}), []string{"*.beacon.test"}, nil},
		{"dropped dll", base, with(func(b *inventory.Behaviour) {
			b.DLLLoads = append(b.DLLLoads, inventory.DLLLoad{Path: `C:\users\root\AppData\Roaming\Beacon\helper.dll`, Type: "native"})
			b.FileWrites = append(b.FileWrites, inventory.FileWrite{Path: `C:\users\root\AppData\Roaming\Beacon\helper.dll`})
		}), nil, []string{SandboxDLLLoad, SandboxFileWrite}},
		{"new process", base, with(func(b *inventory.Behaviour) {
			b.Processes = append(b.Processes, inventory.Process{Image: `C:\windows\system32\cmd.exe`})
		}), nil, []string{SandboxProcess}},
		{"raw address copying the baseline's SNI", base, with(func(b *inventory.Behaviour) {
			b.Network = append(b.Network, inventory.NetEvent{Proto: "tcp", Addr: "198.51.100.23", Port: 443, SNI: "updates.beacon.test"})
		}), nil, []string{SandboxNetwork}},
		{"Host header matching an allow entry", base, with(func(b *inventory.Behaviour) {
			b.Network = append(b.Network, inventory.NetEvent{Proto: "tcp", Addr: "203.0.113.9", Port: 80, Host: "cdn.beacon.test", HTTP: "GET / HTTP/1.1"})
		}), []string{"*.beacon.test"}, []string{SandboxNetwork}},
		{"SNI differs from the resolved name", base, with(func(b *inventory.Behaviour) {
			b.Network[1].SNI = "login.bank.test"
		}), nil, []string{SandboxNetwork}},
		{"Host matches the resolved name", base, with(func(b *inventory.Behaviour) {
			b.Network[1].Host = "Updates.Beacon.Test:443"
		}), nil, nil},
		{"installer's own image and what it unpacks", base, with(func(b *inventory.Behaviour) {
			b.DLLLoads = append(b.DLLLoads,
				inventory.DLLLoad{Process: `Z:\rollgate\installer.exe`, Path: `Z:\rollgate\installer.exe`, Type: "native"},
				inventory.DLLLoad{Process: `Z:\rollgate\installer.exe`, Path: `C:\users\rollgate\AppData\Local\Temp\nsq1A2B.tmp\System.dll`, Type: "native"},
				inventory.DLLLoad{Process: `C:\users\rollgate\AppData\Local\Temp\is-AB12C.tmp\setup.tmp`, Path: `C:\users\rollgate\AppData\Local\Temp\is-AB12C.tmp\_isetup\_shfoldr.dll`, Type: "native"})
		}), nil, nil},
		{"program loads a DLL from temp", base, with(func(b *inventory.Behaviour) {
			b.DLLLoads = append(b.DLLLoads, inventory.DLLLoad{Process: `C:\Program Files\Beacon\beacon.exe`, Path: `C:\users\rollgate\AppData\Local\Temp\x.dll`, Type: "native"})
		}), nil, []string{SandboxDLLLoad}},
		{"Run value at run time", base, with(func(b *inventory.Behaviour) {
			b.Registry = append(b.Registry, inventory.RegistryValue{Key: `HKCU\Software\Microsoft\Windows\CurrentVersion\Run`, Name: "AcmeHelper", Value: `"x.exe"`, Kind: "added", Phase: "run", ClockOffset: 691200})
		}), nil, []string{SandboxPersistence}},
		{"Run value the baseline run also wrote", withReg(base, inventory.RegistryValue{Key: `HKLM\Software\Wow6432Node\Microsoft\Windows\CurrentVersion\Run`, Name: "Beacon", Value: `"a"`}), with(func(b *inventory.Behaviour) {
			b.Registry = append(b.Registry, inventory.RegistryValue{Key: `HKLM\Software\Wow6432Node\Microsoft\Windows\CurrentVersion\Run`, Name: "Beacon", Value: `"b"`})
		}), nil, nil},
		{"new service", base, with(func(b *inventory.Behaviour) {
			b.Registry = append(b.Registry,
				inventory.RegistryValue{Key: `HKLM\System\CurrentControlSet\Services\AcmeSvc`, Name: "ImagePath", Value: `"C:\\x.exe"`},
				inventory.RegistryValue{Key: `HKLM\System\CurrentControlSet\Services\Tcpip\Parameters`, Name: "Hostname", Value: `"x"`})
		}), nil, []string{SandboxPersistence}},
		{"IFEO debugger, AppInit_DLLs, Winlogon", base, with(func(b *inventory.Behaviour) {
			b.Registry = append(b.Registry,
				inventory.RegistryValue{Key: `HKLM\Software\Microsoft\Windows NT\CurrentVersion\Image File Execution Options\sethc.exe`, Name: "Debugger", Value: `"cmd.exe"`},
				inventory.RegistryValue{Key: `HKLM\Software\Microsoft\Windows NT\CurrentVersion\Windows`, Name: "AppInit_DLLs", Value: `"x.dll"`},
				inventory.RegistryValue{Key: `HKLM\Software\Microsoft\Windows NT\CurrentVersion\Winlogon`, Name: "Userinit", Value: `"x"`})
		}), nil, []string{SandboxPersistence}},
		{"ordinary registry value", base, with(func(b *inventory.Behaviour) {
			b.Registry = append(b.Registry, inventory.RegistryValue{Key: `HKCU\Software\Acme\Settings`, Name: "Run", Value: `dword:1`})
		}), nil, nil},
		{"Startup folder and scheduled task", base, with(func(b *inventory.Behaviour) {
			b.FileWrites = append(b.FileWrites,
				inventory.FileWrite{Path: `C:\users\rollgate\AppData\Roaming\Microsoft\Windows\Start Menu\Programs\Startup\acme.lnk`, Kind: "added"},
				inventory.FileWrite{Path: `C:\windows\system32\Tasks\AcmeUpdate`, Kind: "added"})
		}), nil, []string{SandboxFileWrite, SandboxPersistence}},
		{"no baseline run: network judged", nil, with(func(b *inventory.Behaviour) {}), []string{"updates.beacon.test"}, nil},
		{"no baseline run: shipped dll fine, new write not judged", nil, with(func(b *inventory.Behaviour) {
			b.FileWrites = append(b.FileWrites, inventory.FileWrite{Path: `C:\x\y.dat`})
		}), []string{"updates.beacon.test"}, nil},
	}
	for _, tt := range tests {
		got := ruleSet(Behaviour(tt.base, tt.cand, shipped, tt.allow))
		if tt.want == nil {
			tt.want = []string{}
		}
		if got == nil {
			got = []string{}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: Behaviour rules = %v, want %v", tt.name, got, tt.want)
		}
	}
}
