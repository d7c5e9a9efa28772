package sandbox

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/client"

	"github.com/rollgate/rollgate/inventory"
)

func TestSSHHost(t *testing.T) {
	for _, tc := range []struct {
		host     string
		ssh      bool
		wantErr  bool
		wantArgs []string
	}{
		{host: "unix:///var/run/docker.sock"},
		{host: "tcp://127.0.0.1:2376"},
		{host: "ssh://engine.test", ssh: true,
			wantArgs: []string{"-T", "-o", "BatchMode=yes", "-o", "ConnectTimeout=30", "--", "engine.test", "docker", "system", "dial-stdio"}},
		{host: "ssh://ci@engine.test:2222/", ssh: true,
			wantArgs: []string{"-T", "-o", "BatchMode=yes", "-o", "ConnectTimeout=30", "-l", "ci", "-p", "2222", "--", "engine.test", "docker", "system", "dial-stdio"}},
		{host: "ssh://-oProxyCommand=x", ssh: true, wantErr: true},
		{host: "ssh://-o@engine.test", ssh: true, wantErr: true},
		{host: "ssh://ci:secret@engine.test", ssh: true, wantErr: true},
		{host: "ssh://engine.test/var/run/docker.sock", ssh: true, wantErr: true},
		{host: "ssh://engine.test?x=1", ssh: true, wantErr: true},
		{host: "ssh://", ssh: true, wantErr: true},
	} {
		u, ok, err := sshHost(tc.host)
		if ok != tc.ssh || (err != nil) != tc.wantErr {
			t.Errorf("sshHost(%q) = ssh %v, err %v; want ssh %v, error %v", tc.host, ok, err, tc.ssh, tc.wantErr)
			continue
		}
		if err != nil && !errors.Is(err, errSSHHost) {
			t.Errorf("sshHost(%q) error %v, want errSSHHost", tc.host, err)
		}
		if err != nil || !ok {
			continue
		}
		if d := cmp.Diff(tc.wantArgs, sshArgs(u)); d != "" {
			t.Errorf("sshArgs(%q) (-want +got)\n%s", tc.host, d)
		}
	}
}

// fakeSSHEnv names the local engine socket the test binary proxies to when it is run in place
// of ssh; fakeSSHArgsEnv a file it appends its arguments to.
const (
	fakeSSHEnv     = "ROLLGATE_TEST_FAKE_SSH"
	fakeSSHArgsEnv = "ROLLGATE_TEST_FAKE_SSH_ARGS"
)

// fakeSSH is ssh to a host that is this one: it records its arguments, then runs the command
// after "-- HOST" (`docker system dial-stdio`, the real docker CLI) with DOCKER_HOST naming the
// local engine socket, as a login shell on the engine host would have it.
func fakeSSH(sock string) int {
	args := os.Args[1:]
	if p := os.Getenv(fakeSSHArgsEnv); p != "" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err == nil {
			_, _ = f.WriteString(strings.Join(args, " ") + "\n")
			f.Close()
		}
	}
	i := slices.Index(args, "--")
	if i < 0 || len(args) < i+3 {
		os.Stderr.WriteString("fake ssh: no command after -- HOST\n")
		return 255
	}
	remote := args[i+2:]
	bin, err := exec.LookPath(remote[0])
	if err != nil {
		os.Stderr.WriteString("fake ssh: " + err.Error() + "\n")
		return 127
	}
	env := []string{"DOCKER_HOST=unix://" + sock, "PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	if err := syscall.Exec(bin, remote, env); err != nil {
		os.Stderr.WriteString("fake ssh: " + err.Error() + "\n")
	}
	return 126
}

// TestSSHEngine reaches the local engine through DOCKER_HOST=ssh://… with this test binary
// standing in for ssh (it runs the remote command, the real `docker system dial-stdio`, here),
// so that everything but ssh itself is exercised: the client's dialer, HTTP over the pipe,
// the command asked of the engine host, and ssh's command line.
func TestSSHEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the local engine; skipped in -short mode")
	}
	argsFile := viaSSHStandIn(t)
	if err := Available(context.Background()); err != nil {
		t.Fatalf("Available() over the ssh stand-in = %v", err)
	}
	c, err := newClient()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ImageList(context.Background(), client.ImageListOptions{}); err != nil {
		t.Errorf("ImageList over the ssh stand-in = %v", err)
	}
	checkSSHArgs(t, argsFile)
}

// TestE2ESSHEngine runs a whole sandbox (the c2 Beacon) over the ssh stand-in: the installer
// copied in, the wait, logs, diff and registry copies all cross `docker system dial-stdio`.
func TestE2ESSHEngine(t *testing.T) {
	guest, sink := e2eImages(t)
	inst := fixture(t, "beacon-1.1-c2.msi")
	progs := programsOf(t, inst)
	argsFile := viaSSHStandIn(t)
	labels := testLabel(t)
	b, err := Run(context.Background(), Spec{Installer: inst, Programs: progs, GuestImage: guest, SinkholeImage: sink,
		Labels: labels, ProgramTimeout: 20 * time.Second, NoTimeTravel: true})
	if err != nil {
		t.Fatalf("Run(beacon-1.1-c2.msi) over ssh = %v", err)
	}
	if !slices.ContainsFunc(b.Network, func(e inventory.NetEvent) bool {
		return e.Proto == "dns" && e.Name == "c2.beacon.invalid"
	}) {
		t.Errorf("Run over ssh: network = %+v, want a DNS query for c2.beacon.invalid", b.Network)
	}
	if !slices.ContainsFunc(b.FileWrites, func(f inventory.FileWrite) bool {
		return f.Path == `C:\Program Files\Beacon\beacon.exe`
	}) {
		t.Errorf("Run over ssh: file writes = %+v, want beacon.exe installed", b.FileWrites)
	}
	if left := containersWith(t, labels); len(left) != 0 {
		t.Errorf("Run over ssh left containers %v", left)
	}
	checkSSHArgs(t, argsFile)
}

// viaSSHStandIn points DOCKER_HOST at ssh://ci@engine.test:2222 with this test binary as ssh
// (see fakeSSH) reaching the local engine, for the rest of the test; it returns the file the
// stand-in records its command lines in. It skips without a local engine or the docker CLI
// (fails under CI=true).
func viaSSHStandIn(t *testing.T) string {
	t.Helper()
	sock := strings.TrimPrefix(engineHost(), "unix://")
	if !strings.HasPrefix(engineHost(), "unix://") {
		t.Skipf("DOCKER_HOST=%s is not a local socket", engineHost())
	}
	if err := Available(context.Background()); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Available = %v (CI=true: this test needs the local engine)", err)
		}
		t.Skipf("no Docker engine: %v", err)
	}
	if _, err := exec.LookPath("docker"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("docker CLI not on PATH (CI=true: this test needs its dial-stdio): %v", err)
		}
		t.Skipf("docker CLI not on PATH: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	argsFile := filepath.Join(t.TempDir(), "args")
	old := sshCommand
	sshCommand = self
	t.Cleanup(func() { sshCommand = old })
	t.Setenv(fakeSSHEnv, sock)
	t.Setenv(fakeSSHArgsEnv, argsFile)
	t.Setenv(client.EnvOverrideHost, "ssh://ci@engine.test:2222")
	t.Setenv("DOCKER_TLS_VERIFY", "")
	t.Setenv("DOCKER_CERT_PATH", "")
	return argsFile
}

// checkSSHArgs checks that the stand-in ran, every time with ssh's expected command line.
func checkSSHArgs(t *testing.T, argsFile string) {
	t.Helper()
	got, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatalf("the ssh stand-in never ran: %v", err)
	}
	want := "-T -o BatchMode=yes -o ConnectTimeout=30 -l ci -p 2222 -- engine.test docker system dial-stdio"
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	for _, line := range lines {
		if line != want {
			t.Errorf("ssh ran with %q, want %q", line, want)
		}
	}
	t.Logf("%d ssh connections", len(lines))
}

// TestSSHEngineRefused: an ssh that fails says why in the error, which wraps ErrUnavailable.
func TestSSHEngineRefused(t *testing.T) {
	old := sshCommand
	sshCommand = filepath.Join(t.TempDir(), "no-such-ssh")
	defer func() { sshCommand = old }()
	t.Setenv(client.EnvOverrideHost, "ssh://engine.test")
	err := Available(context.Background())
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("Available() with a missing ssh = %v, want ErrUnavailable", err)
	}
}
