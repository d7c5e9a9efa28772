package sandbox

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack/msi"
)

// End-to-end tests against the real engine. They skip when no engine answers, except under
// CI=true, where a missing engine fails them. The guest image is built once if missing (a few
// minutes; see EnsureGuestImage) and reused afterwards.

var e2eState struct {
	once        sync.Once
	dir         string
	bin         string // the static rollgate the sinkhole image is made of
	guest, sink string
	err         error
	buildFailed bool
}

func TestMain(m *testing.M) {
	if sock := os.Getenv(fakeSSHEnv); sock != "" { // this binary is standing in for ssh
		os.Exit(fakeSSH(sock))
	}
	code := m.Run()
	if e2eState.dir != "" {
		os.RemoveAll(e2eState.dir)
	}
	os.Exit(code)
}

// e2eImages returns the guest and sinkhole images, building a static rollgate for the latter.
func e2eImages(t *testing.T) (guest, sink string) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end sandbox test skipped in -short mode")
	}
	ctx := context.Background()
	if err := Available(ctx); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Available = %v (CI=true: the sandbox tests need an engine; run scripts/docker-up.sh)", err)
		}
		t.Skipf("no Docker engine: %v", err)
	}
	s := &e2eState
	s.once.Do(func() {
		if s.dir, s.err = os.MkdirTemp("", "rollgate-e2e-"); s.err != nil {
			return
		}
		bin := filepath.Join(s.dir, "rollgate")
		s.bin = bin
		goBin, err := exec.LookPath("go")
		if err != nil {
			s.err = err
			return
		}
		cmd := exec.Command(goBin, "build", "-o", bin, "github.com/rollgate/rollgate/cmd/rollgate")
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			s.err = fmt.Errorf("building a static rollgate: %v\n%s", err, out)
			s.buildFailed = true
			return
		}
		opts := ImageOptions{Progress: os.Stderr}
		if s.sink, s.err = EnsureSinkholeImage(ctx, bin, opts); s.err != nil {
			return
		}
		s.guest, s.err = EnsureGuestImage(ctx, opts)
	})
	if s.buildFailed && os.Getenv("CI") != "true" {
		// Outside CI, another package of the checkout may be mid-edit.
		t.Skipf("preparing the sandbox images: %v", s.err)
	}
	if s.err != nil {
		t.Fatalf("preparing the sandbox images: %v", s.err)
	}
	return s.guest, s.sink
}

// testLabel returns a label unique to this test, to find exactly its containers.
func testLabel(t *testing.T) map[string]string {
	b := make([]byte, 6)
	rand.Read(b)
	return map[string]string{Label + ".test": t.Name() + "-" + hex.EncodeToString(b)}
}

func containersWith(t *testing.T, labels map[string]string) []string {
	t.Helper()
	c, err := newClient()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f := client.Filters{}
	f.Add("label", Label)
	for k, v := range labels {
		f.Add("label", k+"="+v)
	}
	res, err := c.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatalf("ContainerList = %v", err)
	}
	var ids []string
	for _, s := range res.Items {
		ids = append(ids, shortID(s.ID)+" "+string(s.State))
	}
	return ids
}

func fixture(t *testing.T, name string) string {
	p := filepath.Join("..", "testdata", "fixtures", "win", name)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("fixture %s: %v", name, err)
		}
		t.Skipf("fixture %s missing: %v", name, err)
	}
	return p
}

// TestE2ENoRouteOff joins a guest to a live sinkhole and reads the namespace: its only
// interfaces are lo and the sinkhole's TUN device, and every IPv4 / IPv6 route goes through one
// of them, so nothing the guest sends can leave the machine.
func TestE2ENoRouteOff(t *testing.T) {
	guest, sink := e2eImages(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := newClient()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var ids []string
	defer func() {
		for i := len(ids) - 1; i >= 0; i-- {
			removeContainer(c, ids[i])
		}
	}()
	s, err := c.ContainerCreate(ctx, sinkholeRequest(sink, defaultSinkholeLimits))
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, s.ID)
	if _, err := c.ContainerStart(ctx, s.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	script := `i=0; while [ $i -lt 100 ]; do [ "$(ls /sys/class/net | wc -l)" -gt 1 ] && break; sleep 0.1; i=$((i+1)); done
sleep 0.5
echo "== links"; for n in /sys/class/net/*; do if [ -e "$n/tun_flags" ]; then echo "${n##*/} tun"; else echo "${n##*/} other"; fi; done
echo "== route"; cat /proc/net/route
echo "== route6"; cat /proc/net/ipv6_route
echo "== resolv"; cat /etc/resolv.conf
echo "== end"`
	g, err := c.ContainerCreate(ctx, guestRequest(guest, s.ID, defaultGuestLimits, 0, []string{"-c", script}, nil))
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, g.ID)
	if _, err := c.ContainerStart(ctx, g.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	if code, err := waitExit(ctx, c, g.ID); err != nil || code != 0 {
		t.Fatalf("guest exited %d, %v", code, err)
	}
	var out, errOut cappedBuffer
	out.max, errOut.max = 1<<20, 1<<20
	if err := readLogs(ctx, c, g.ID, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	sections := map[string][]string{}
	cur := ""
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		if h, ok := strings.CutPrefix(sc.Text(), "== "); ok {
			cur = h
			continue
		}
		sections[cur] = append(sections[cur], sc.Text())
	}
	if _, ok := sections["end"]; !ok && len(sections["end"]) == 0 && !strings.Contains(out.String(), "== end") {
		t.Fatalf("guest output incomplete: %q (stderr %q)", out.String(), errOut.String())
	}
	tun := ""
	var links []string
	for _, l := range sections["links"] {
		f := strings.Fields(l)
		if len(f) != 2 {
			continue
		}
		links = append(links, f[0])
		switch {
		case f[0] == "lo":
		case f[1] == "tun" && tun == "":
			tun = f[0]
		default:
			t.Errorf("interface %q (%s) in the guest namespace; want only lo and one TUN", f[0], f[1])
		}
	}
	if tun == "" || !slices.Contains(links, "lo") || len(links) != 2 {
		t.Fatalf("guest interfaces = %v, want exactly lo and one TUN device", links)
	}
	allowed := []string{"lo", tun}
	routes := 0
	for i, l := range sections["route"] {
		f := strings.Fields(l)
		if i == 0 || len(f) < 2 { // header
			continue
		}
		routes++
		if !slices.Contains(allowed, f[0]) {
			t.Errorf("IPv4 route %q leaves through %q; want only %v", l, f[0], allowed)
		}
	}
	if routes == 0 {
		t.Errorf("no IPv4 route at all (%q); want the TUN's", sections["route"])
	}
	for _, l := range sections["route6"] {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if dev := f[len(f)-1]; !slices.Contains(allowed, dev) {
			t.Errorf("IPv6 route %q leaves through %q; want only %v", l, dev, allowed)
		}
	}
	var ns []string
	for _, l := range sections["resolv"] {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "nameserver" {
			ns = append(ns, f[1])
		}
	}
	if !slices.Equal(ns, []string{SinkholeResolver.String()}) {
		t.Errorf("guest resolv.conf nameservers = %v, want [%v]", ns, SinkholeResolver)
	}
	t.Logf("guest namespace: links %v, %d IPv4 routes via %s", links, routes, tun)
}

// TestE2ECleanUp checks that a run cancelled mid-way and a run killed by its timeout leave no
// container behind.
func TestE2ECleanUp(t *testing.T) {
	guest, sink := e2eImages(t)
	inst := fixture(t, "beacon-1.0.msi")

	t.Run("cancel", func(t *testing.T) {
		labels := testLabel(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { // cancel once the guest is running
			for ctx.Err() == nil {
				for _, s := range containersWith(t, labels) {
					if strings.HasSuffix(s, " running") && len(containersWith(t, labels)) == 2 {
						time.Sleep(time.Second)
						cancel()
						return
					}
				}
				time.Sleep(200 * time.Millisecond)
			}
		}()
		b, err := Run(ctx, Spec{Installer: inst, GuestImage: guest, SinkholeImage: sink, Labels: labels})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run(cancelled) = %+v, %v, want context.Canceled", b, err)
		}
		if left := containersWith(t, labels); len(left) != 0 {
			t.Errorf("Run(cancelled) left containers %v", left)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		labels := testLabel(t)
		b, err := Run(context.Background(), Spec{Installer: inst, GuestImage: guest, SinkholeImage: sink,
			Labels: labels, Timeout: 2 * time.Second})
		if !errors.Is(err, ErrTimeout) || b == nil || !strings.Contains(b.Reason, "timeout") {
			t.Errorf("Run(timeout 2s) = %+v, %v, want a behaviour with a timeout reason and ErrTimeout", b, err)
		}
		if left := containersWith(t, labels); len(left) != 0 {
			t.Errorf("Run(timeout) left containers %v", left)
		}
	})
}

// TestE2EDiskCap gives the guest a 1 MiB allowance beyond the installer: installing writes
// more than that (wine rewrites its registry), so the run ends with ErrDiskLimit, says so,
// and leaves nothing behind, whichever way the engine capped the layer.
func TestE2EDiskCap(t *testing.T) {
	guest, sink := e2eImages(t)
	labels := testLabel(t)
	b, err := Run(context.Background(), Spec{Installer: fixture(t, "beacon-1.0.msi"), GuestImage: guest,
		SinkholeImage: sink, Labels: labels, Guest: Limits{Disk: 1 << 20}})
	if !errors.Is(err, ErrDiskLimit) || b == nil || b.DiskCap == nil || !strings.Contains(b.Reason, "past its cap") {
		t.Fatalf("Run(disk allowance 1 MiB) = %+v, %v, want a behaviour with a disk-cap reason and ErrDiskLimit", b, err)
	}
	if left := containersWith(t, labels); len(left) != 0 {
		t.Errorf("Run(disk cap) left containers %v", left)
	}
	t.Logf("disk cap %d bytes, engine quota %v (%s): %s", b.DiskCap.Bytes, b.DiskCap.Quota, b.DiskCap.NoQuota, b.Reason)
}

func programsOf(t *testing.T, path string) []string {
	prc, err := msi.Open(path)
	if err != nil {
		t.Fatalf("msi.Open(%q) = %v", path, err)
	}
	defer prc.Close()
	p := prc.Reader
	sc, err := p.Shortcuts()
	if err != nil {
		t.Fatalf("Shortcuts(%q) = %v", path, err)
	}
	progs := ShortcutPrograms(sc)
	if len(progs) == 0 {
		t.Fatalf("ShortcutPrograms(%+v) = none, want beacon.exe", sc)
	}
	return progs
}

// TestE2EBeacon installs and starts the Beacon fixtures: the benign update contacts only its
// own update host; the c2 build also resolves c2.beacon.invalid, connects to
// 198.51.100.23:8443 and sends a datagram to 203.0.113.5:53535, and the sandbox sees it all.
func TestE2EBeacon(t *testing.T) {
	guest, sink := e2eImages(t)
	run := func(name string) *inventory.Behaviour {
		inst := fixture(t, name)
		labels := testLabel(t)
		start := time.Now()
		// Three runs (install, each program, two clock offsets) under wine: on a loaded
		// two-core machine one took past the 5-minute default. What is judged is what the
		// guest did, not how fast, so the run gets a wider bound here.
		b, err := Run(context.Background(), Spec{Installer: inst, Programs: programsOf(t, inst),
			GuestImage: guest, SinkholeImage: sink, Labels: labels, ProgramTimeout: 20 * time.Second,
			Timeout: 10 * time.Minute})
		if err != nil {
			t.Fatalf("Run(%s) = %v", name, err)
		}
		t.Logf("Run(%s): behaviour in %v: %d network events, %d processes, %d DLL loads, %d file writes; reason %q",
			name, time.Since(start).Round(100*time.Millisecond), len(b.Network), len(b.Processes), len(b.DLLLoads), len(b.FileWrites), b.Reason)
		if left := containersWith(t, labels); len(left) != 0 {
			t.Errorf("Run(%s) left containers %v", name, left)
		}
		if !slices.ContainsFunc(b.FileWrites, func(f inventory.FileWrite) bool {
			return f.Path == `C:\Program Files\Beacon\beacon.exe`
		}) {
			t.Errorf("Run(%s).FileWrites = %+v, want beacon.exe installed", name, b.FileWrites)
		}
		if !slices.ContainsFunc(b.Processes, func(p inventory.Process) bool {
			return p.Image == `C:\Program Files\Beacon\beacon.exe`
		}) {
			t.Errorf("Run(%s).Processes = %+v, want beacon.exe started", name, b.Processes)
		}
		return b
	}
	has := func(b *inventory.Behaviour, want inventory.NetEvent) bool {
		return slices.ContainsFunc(b.Network, func(e inventory.NetEvent) bool {
			return e.Proto == want.Proto && (want.Name == "" || e.Name == want.Name) &&
				(want.Addr == "" || e.Addr == want.Addr) && (want.Port == 0 || e.Port == want.Port)
		})
	}

	benign := run("beacon-1.1.msi")
	for _, e := range benign.Network {
		if e.Name != "" && e.Name != "updates.beacon.test" {
			t.Errorf("benign run contacted name %q (%+v); want only updates.beacon.test", e.Name, e)
		}
		if e.Addr == "198.51.100.23" || e.Addr == "203.0.113.5" {
			t.Errorf("benign run contacted %s (%+v)", e.Addr, e)
		}
	}
	if !has(benign, inventory.NetEvent{Proto: "dns", Name: "updates.beacon.test"}) {
		t.Errorf("benign run network = %+v, want a DNS query for updates.beacon.test", benign.Network)
	}

	dropper := run("beacon-1.1-dropper.msi")
	helper := `C:\users\rollgate\AppData\Roaming\Beacon\helper.dll`
	if !slices.Contains(dropper.FileWrites, inventory.FileWrite{Path: helper, Kind: "added"}) {
		t.Errorf("dropper run file writes = %+v, want %s added", dropper.FileWrites, helper)
	}
	if !slices.Contains(dropper.DLLLoads, inventory.DLLLoad{Process: `C:\Program Files\Beacon\beacon.exe`, Path: helper, Type: "native"}) {
		t.Errorf("dropper run DLL loads lack beacon.exe loading %s", helper)
	}

	c2 := run("beacon-1.1-c2.msi")
	for _, want := range []inventory.NetEvent{
		{Proto: "dns", Name: "c2.beacon.invalid"},
		{Proto: "tcp", Addr: "198.51.100.23", Port: 8443},
		{Proto: "udp", Addr: "203.0.113.5", Port: 53535},
	} {
		if !has(c2, want) {
			t.Errorf("c2 run network = %+v, want %+v", c2.Network, want)
		}
	}
}

// TestE2ESilent: 32-bit EXE installers (makensis's stub and Inno Setup's are x86, as most
// NSIS, Inno Setup and InstallShield stubs are) run under the guest's wine32 with their
// format's unattended switches and install their files. Without wine32 they died before their
// first instruction with exit 0; without their switches an installer exits at its first
// dialog; Inno Setup, which builds its wizard form even when silent, needs wine's null
// graphics driver in a guest with no display. Each left a clean-looking run that installed
// nothing.
func TestE2ESilent(t *testing.T) {
	guest, sink := e2eImages(t)
	tests := []struct {
		name, installer, silent, started string
		files                            []string
	}{
		{"nsis", filepath.Join("..", "unpack", "nsis", "testdata", "acme-5.2.0-setup.exe"), "nsis", `Z:\rollgate\installer-nsis.exe`,
			[]string{`C:\Program Files\Acme Softphone\bin\media.dll`, `C:\Program Files\Acme Softphone\bin\gfxcomp_47.dll`}},
		// Built by Inno Setup 6.4.1's own compiler (unpack/inno/testdata/iscc/gen.sh).
		{"inno", filepath.Join("..", "unpack", "inno", "testdata", "iscc", "tree-innosetup-6.4.1.exe"), "inno", `Z:\rollgate\installer-inno.exe`,
			[]string{`C:\Program Files\RollgateConformanceTree\readme.txt`, `C:\Program Files\RollgateConformanceTree\sub\deeper\n.txt`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			labels := testLabel(t)
			b, err := Run(context.Background(), Spec{Installer: tt.installer, Silent: SilentFor(tt.silent), GuestImage: guest,
				SinkholeImage: sink, Labels: labels, NoTimeTravel: true, Timeout: 10 * time.Minute})
			if err != nil {
				t.Fatalf("Run = %v", err)
			}
			if left := containersWith(t, labels); len(left) != 0 {
				t.Errorf("Run left containers %v", left)
			}
			if b.Reason != "" {
				t.Errorf("Reason = %q, want a clean install", b.Reason)
			}
			for _, want := range tt.files {
				if !slices.ContainsFunc(b.FileWrites, func(f inventory.FileWrite) bool { return f.Path == want }) {
					t.Errorf("FileWrites lack %s: %+v", want, b.FileWrites)
				}
			}
			if !slices.ContainsFunc(b.Processes, func(p inventory.Process) bool { return p.Image == tt.started }) {
				t.Errorf("Processes = %+v, want %s started", b.Processes, tt.started)
			}
		})
	}
}
