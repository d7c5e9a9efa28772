package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
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

// TestE2ESSHEngine runs a whole sandbox (the c2 Beacon) through a real OpenSSH: an sshd the
// test starts on a loopback port with host and client keys made here, and Debian's ssh
// client, as a team reaching its engine host would. The installer copied in, the wait, logs,
// diff and registry copies all cross `ssh … docker system dial-stdio` to the local engine.
// The client is ssh itself, given the test's ssh_config with -F (a wrapper script is
// sshCommand), since ssh reads ~/.ssh from the password database, not $HOME.
func TestE2ESSHEngine(t *testing.T) {
	guest, sink := e2eImages(t)
	inst := fixture(t, "beacon-1.1-c2.msi")
	progs := programsOf(t, inst)
	viaRealSSH(t)
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
}

// sshdStartTimeout bounds how long the test's sshd has to accept connections.
const sshdStartTimeout = 30 * time.Second

// viaRealSSH starts an sshd of the test's own on 127.0.0.1 (key-only login for this user, host
// key pinned in the client's known_hosts, strict checking) and points DOCKER_HOST at
// ssh://USER@engine.test:PORT for the rest of the test, engine.test being mapped to 127.0.0.1 by
// the test's ssh_config. The sshd is stopped when the test ends. It skips without sshd, ssh,
// the docker CLI, root or a local engine (fails under CI=true).
func viaRealSSH(t *testing.T) {
	t.Helper()
	need := func(what string, err error) {
		t.Helper()
		if err == nil {
			return
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (CI=true: the ssh-engine test needs it; scripts/test installs it): %v", what, err)
		}
		t.Skipf("%s: %v", what, err)
	}
	if !strings.HasPrefix(engineHost(), "unix://") {
		t.Skipf("DOCKER_HOST=%s is not a local socket", engineHost())
	}
	need("no Docker engine", Available(context.Background()))
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		sshd, err = exec.LookPath("/usr/sbin/sshd")
	}
	need("sshd (openssh-server)", err)
	sshBin, err := exec.LookPath("ssh")
	need("ssh (openssh-client)", err)
	_, err = exec.LookPath("ssh-keygen")
	need("ssh-keygen", err)
	_, err = exec.LookPath("docker")
	need("docker CLI (the engine host's dial-stdio)", err)
	if os.Geteuid() != 0 {
		need("root (sshd logs a user in)", errors.New("not root"))
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	// sshd refuses key files that others can read, and its privilege separation wants
	// /run/sshd; a short folder keeps paths readable in its log.
	dir, err := os.MkdirTemp("", "rg-ssh-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	file := func(name string) string { return filepath.Join(dir, name) }
	for _, k := range []string{"host_key", "client_key"} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "rollgate-test", "-f", file(k)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen %s: %v\n%s", k, err, out)
		}
	}
	hostPub, err := os.ReadFile(file("host_key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	clientPub, err := os.ReadFile(file("client_key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(file(name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("authorized_keys", string(clientPub))
	write("known_hosts", fmt.Sprintf("[127.0.0.1]:%d %s", port, hostPub))
	write("sshd_config", fmt.Sprintf(`ListenAddress 127.0.0.1
Port %d
HostKey %s
AuthorizedKeysFile %s
PidFile %s
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowUsers %s
`, port, file("host_key"), file("authorized_keys"), file("sshd.pid"), me.Username))
	write("ssh_config", fmt.Sprintf(`Host engine.test
	HostName 127.0.0.1
	HostKeyAlias [127.0.0.1]:%d
	IdentityFile %s
	IdentitiesOnly yes
	UserKnownHostsFile %s
	GlobalKnownHostsFile /dev/null
	StrictHostKeyChecking yes
	UpdateHostKeys no
Host *
	ProxyCommand none
`, port, file("client_key"), file("known_hosts")))
	wrapper := file("ssh")
	if err := os.WriteFile(wrapper, []byte(fmt.Sprintf("#!/bin/sh\nexec %s -F %s \"$@\"\n", sshBin, file("ssh_config"))), 0o700); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(file("sshd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sshd, "-D", "-e", "-f", file("sshd_config"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting %s: %v", sshd, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logf.Close()
		if t.Failed() {
			if b, err := os.ReadFile(file("sshd.log")); err == nil {
				t.Logf("sshd's log:\n%s", tail(string(b), 4<<10))
			}
		}
	})
	deadline := time.Now().Add(sshdStartTimeout)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case werr := <-exited:
			exited <- werr
			b, _ := os.ReadFile(file("sshd.log"))
			t.Fatalf("sshd exited (%v) before listening:\n%s", werr, b)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not listen on 127.0.0.1:%d within %v", port, sshdStartTimeout)
		}
	}
	old := sshCommand
	sshCommand = wrapper
	t.Cleanup(func() { sshCommand = old })
	t.Setenv(client.EnvOverrideHost, fmt.Sprintf("ssh://%s@engine.test:%d", me.Username, port))
	t.Setenv("DOCKER_TLS_VERIFY", "")
	t.Setenv("DOCKER_CERT_PATH", "")
	if err := Available(context.Background()); err != nil {
		t.Fatalf("Available() through the test's sshd = %v", err)
	}
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
