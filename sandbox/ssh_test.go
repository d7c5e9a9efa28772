package sandbox

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/client"
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

// fakeSSH is `docker system dial-stdio` without the ssh: stdin and stdout proxied to the engine
// socket.
func fakeSSH(sock string) int {
	if p := os.Getenv(fakeSSHArgsEnv); p != "" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err == nil {
			_, _ = f.WriteString(strings.Join(os.Args[1:], " ") + "\n")
			f.Close()
		}
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		os.Stderr.WriteString("fake ssh: " + err.Error() + "\n")
		return 255
	}
	go func() {
		_, _ = io.Copy(conn, os.Stdin)
		_ = conn.(*net.UnixConn).CloseWrite()
	}()
	_, _ = io.Copy(os.Stdout, conn)
	return 0
}

// TestSSHEngine reaches the local engine through DOCKER_HOST=ssh://… with this test binary
// standing in for ssh (it proxies to the engine's socket, as `docker system dial-stdio` on the
// engine host does), so that everything but ssh itself is exercised: the client's dialer, HTTP
// over the pipe, and ssh's command line.
func TestSSHEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the local engine; skipped in -short mode")
	}
	sock := strings.TrimPrefix(engineHost(), "unix://")
	if !engineIsLocal() || !strings.HasPrefix(engineHost(), "unix://") {
		t.Skipf("DOCKER_HOST=%s is not a local socket", engineHost())
	}
	if err := Available(context.Background()); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Available = %v (CI=true: this test needs the local engine)", err)
		}
		t.Skipf("no Docker engine: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	argsFile := filepath.Join(t.TempDir(), "args")
	old := sshCommand
	sshCommand = self
	defer func() { sshCommand = old }()
	t.Setenv(fakeSSHEnv, sock)
	t.Setenv(fakeSSHArgsEnv, argsFile)
	t.Setenv(client.EnvOverrideHost, "ssh://ci@engine.test:2222")
	t.Setenv("DOCKER_TLS_VERIFY", "")
	t.Setenv("DOCKER_CERT_PATH", "")

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
	got, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatalf("the ssh stand-in never ran: %v", err)
	}
	want := "-T -o BatchMode=yes -o ConnectTimeout=30 -l ci -p 2222 -- engine.test docker system dial-stdio"
	for _, line := range strings.Split(strings.TrimSpace(string(got)), "\n") {
		if line != want {
			t.Errorf("ssh ran with %q, want %q", line, want)
		}
	}
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
