package rules

import (
	"slices"
	"testing"

	"github.com/rollgate/rollgate/inventory"
)

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
		{"no baseline run: network judged", nil, with(func(b *inventory.Behaviour) {}), []string{"updates.beacon.test"}, nil},
		{"no baseline run: shipped dll fine, new write not judged", nil, with(func(b *inventory.Behaviour) {
			b.FileWrites = append(b.FileWrites, inventory.FileWrite{Path: `C:\x\y.dat`})
		}), []string{"updates.beacon.test"}, nil},
	}
	for _, tt := range tests {
		got := ruleSet(Behaviour(tt.base, tt.cand, shipped, tt.allow))
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: Behaviour rules = %v, want %v", tt.name, got, tt.want)
		}
	}
}
