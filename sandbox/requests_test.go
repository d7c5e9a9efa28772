package sandbox

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

func TestRequests(t *testing.T) {
	lim := Limits{Memory: 1 << 30, PIDs: 100, NanoCPUs: 1e9}
	tests := []struct {
		name        string
		req         client.ContainerCreateOptions
		role        string
		network     string
		capAdd      []string
		readOnly    bool
		wantDevices []string
		wantDNS     bool
	}{
		{"sinkhole", sinkholeRequest("rollgate/sinkhole:x", lim), "sinkhole", "none",
			[]string{"NET_ADMIN"}, true, []string{"/dev/net/tun"}, true},
		{"guest", guestRequest("rollgate/guest:x", "abc123", lim, 0, []string{"/rollgate/run.sh"}, guestRunEnv),
			"guest", "container:abc123", nil, false, nil, false},
		{"prefix init", initRequest("rollgate/guest-base:x", "x"), "guest", "none",
			nil, false, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, hc := tt.req.Config, tt.req.HostConfig
			if cfg == nil || hc == nil {
				t.Fatalf("%s: Config or HostConfig is nil", tt.name)
			}
			if cfg.Labels[Label] != tt.role {
				t.Errorf("%s: label %q = %q, want %q", tt.name, Label, cfg.Labels[Label], tt.role)
			}
			if got := string(hc.NetworkMode); got != tt.network {
				t.Errorf("%s: NetworkMode = %q, want %q", tt.name, got, tt.network)
			}
			// Never Docker's default bridge, never the host's network.
			if nm := hc.NetworkMode; nm.IsDefault() || nm.IsBridge() || nm.IsHost() || nm.IsUserDefined() {
				t.Errorf("%s: NetworkMode %q reaches a real network", tt.name, nm)
			}
			if !slices.Equal(hc.CapDrop, []string{"ALL"}) {
				t.Errorf("%s: CapDrop = %v, want [ALL]", tt.name, hc.CapDrop)
			}
			if !slices.Equal(hc.CapAdd, tt.capAdd) {
				t.Errorf("%s: CapAdd = %v, want %v", tt.name, hc.CapAdd, tt.capAdd)
			}
			if !slices.Contains(hc.SecurityOpt, "no-new-privileges") {
				t.Errorf("%s: SecurityOpt = %v, want no-new-privileges", tt.name, hc.SecurityOpt)
			}
			if hc.Privileged || len(hc.PortBindings) > 0 || hc.PublishAllPorts || len(hc.Binds) > 0 || len(hc.Mounts) > 0 {
				t.Errorf("%s: privileged, published ports or host mounts: %+v", tt.name, hc)
			}
			if hc.Memory <= 0 || hc.PidsLimit == nil || *hc.PidsLimit <= 0 || hc.NanoCPUs <= 0 {
				t.Errorf("%s: limits Memory=%d Pids=%v NanoCPUs=%d, want all set", tt.name, hc.Memory, hc.PidsLimit, hc.NanoCPUs)
			}
			if hc.ReadonlyRootfs != tt.readOnly {
				t.Errorf("%s: ReadonlyRootfs = %v, want %v", tt.name, hc.ReadonlyRootfs, tt.readOnly)
			}
			if !slices.ContainsFunc(hc.Ulimits, func(u *container.Ulimit) bool { return u.Name == "fsize" && u.Hard > 0 }) {
				t.Errorf("%s: Ulimits = %v, want an fsize limit", tt.name, hc.Ulimits)
			}
			var devs []string
			for _, d := range hc.Devices {
				devs = append(devs, d.PathOnHost)
			}
			if !slices.Equal(devs, tt.wantDevices) {
				t.Errorf("%s: Devices = %v, want %v", tt.name, devs, tt.wantDevices)
			}
			if got := len(hc.DNS) > 0; got != tt.wantDNS {
				t.Errorf("%s: DNS = %v, want set: %v", tt.name, hc.DNS, tt.wantDNS)
			}
		})
	}
	s := sinkholeRequest("i", lim).HostConfig
	if s.Memory != lim.Memory || *s.PidsLimit != lim.PIDs || s.NanoCPUs != lim.NanoCPUs || s.MemorySwap != lim.Memory {
		t.Errorf("sinkholeRequest limits = %d/%d/%d/%d, want %+v", s.Memory, *s.PidsLimit, s.NanoCPUs, s.MemorySwap, lim)
	}
	if len(s.DNS) != 1 || s.DNS[0] != SinkholeResolver {
		t.Errorf("sinkholeRequest DNS = %v, want [%v]", s.DNS, SinkholeResolver)
	}
}

func TestGuestCommand(t *testing.T) {
	tests := []struct {
		spec Spec
		want []string
	}{
		{Spec{Programs: []string{`C:\Program Files\A\a.exe`}, ProgramTimeout: 1500e6, NoTimeTravel: true},
			[]string{"/rollgate/run.sh", `Z:\rollgate\installer.msi`, "2", "33554432", "-", "60", "20", `C:\Program Files\A\a.exe`}},
		{Spec{Programs: []string{`C:\a.exe`}, ClockSpeed: 100, RerunTimeout: 9 * time.Second},
			[]string{"/rollgate/run.sh", `Z:\rollgate\installer.msi`, "30", "16777216", "691200,2678400", "100", "9", `C:\a.exe`}},
		{Spec{}, // no programs: nothing to rerun
			[]string{"/rollgate/run.sh", `Z:\rollgate\installer.msi`, "30", "67108864", "-", "60", "20"}},
	}
	for _, tt := range tests {
		tt.spec.defaults()
		if got := guestCommand("installer.msi", tt.spec); !slices.Equal(got, tt.want) {
			t.Errorf("guestCommand(%+v) = %q, want %q", tt.spec, got, tt.want)
		}
	}
	if !slices.ContainsFunc(guestRunEnv, func(s string) bool { return strings.Contains(s, "+loaddll") && strings.Contains(s, "+process") }) {
		t.Errorf("guestRunEnv = %q, want +loaddll and +process traces", guestRunEnv)
	}
}

func TestInstallerName(t *testing.T) {
	for in, want := range map[[2]string]string{
		{"/x/Acme Setup.MSI", ""}:              "installer.msi",
		{"/x/Acme Setup.MSI", "nsis"}:          "installer.msi",
		{"/x/setup.exe", ""}:                   "installer.exe",
		{"/x/setup.exe", "nsis"}:               "installer-nsis.exe",
		{"/x/setup.exe", "inno"}:               "installer-inno.exe",
		{"/x/setup.exe", "burn"}:               "installer-burn.exe",
		{"/x/setup.exe", "ishield"}:            "installer.exe", // not a convention: SilentFor maps it
		{"/x/setup.exe", "$(reboot)"}:          "installer.exe",
		{"/x/$(reboot).msi", ""}:               "installer.msi",
		{"/x/no-extension", ""}:                "installer.exe",
		{`/x/evil\..\name.msi`, ""}:            "installer.msi",
		{"/x/setup.exe", SilentFor("ishield")}: "installer-installshield.exe",
	} {
		if got := installerName(in[0], in[1]); got != want {
			t.Errorf("installerName(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
}

func TestGuestHashStable(t *testing.T) {
	if a, b := GuestRef(), GuestRef(); a != b || !strings.HasPrefix(a, GuestRepo+":") {
		t.Errorf("GuestRef() = %q then %q, want one stable %s:<hash>", a, b, GuestRepo)
	}
	ch := guestChanges("h")
	if !slices.ContainsFunc(ch, func(s string) bool { return strings.HasPrefix(s, "LABEL "+Label+"=") }) {
		t.Errorf("guestChanges = %q, want a %s label", ch, Label)
	}
}

func TestSpecBudget(t *testing.T) {
	progs := func(n int) []string { return make([]string, n) }
	tests := []struct {
		spec    Spec
		budget  time.Duration
		timeout time.Duration
	}{
		// no programs: the install only
		{Spec{}, 2 * time.Minute, DefaultTimeout},
		// one program, two reruns: 2m + (30+10) + 2*(20+10) s
		{Spec{Programs: progs(1)}, 2*time.Minute + 100*time.Second, DefaultTimeout},
		{Spec{Programs: progs(1), NoTimeTravel: true}, 2*time.Minute + 40*time.Second, DefaultTimeout},
		// sixteen programs outgrow the default
		{Spec{Programs: progs(16)}, 2*time.Minute + 16*100*time.Second, 2*time.Minute + 16*100*time.Second},
		// an explicit Timeout stands
		{Spec{Programs: progs(16), Timeout: time.Minute}, 2*time.Minute + 16*100*time.Second, time.Minute},
	}
	for _, tt := range tests {
		if got := tt.spec.Budget(); got != tt.budget {
			t.Errorf("Budget(%d programs) = %v, want %v", len(tt.spec.Programs), got, tt.budget)
		}
		tt.spec.defaults()
		if tt.spec.Timeout != tt.timeout {
			t.Errorf("defaults(%d programs).Timeout = %v, want %v", len(tt.spec.Programs), tt.spec.Timeout, tt.timeout)
		}
	}
}
