package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// An engine named DOCKER_HOST=ssh://[user@]host[:port] is reached the way the docker CLI reaches
// it: every connection of the API client is one `ssh host docker system dial-stdio`, whose
// stdin and stdout are the connection (the docker CLI on the engine host proxies them to its
// local socket). The Engine API client speaks HTTP over that pipe; TLS is ssh's.

// sshHTTPHost is the host the API client's requests name over an ssh connection; it is never
// resolved (the connection is the ssh pipe), so it is a name that cannot exist.
const sshHTTPHost = "http://docker.invalid"

// sshCommand is the ssh client run for each connection (a variable for tests).
var sshCommand = "ssh"

// sshConnectTimeout is ssh's own ConnectTimeout, in seconds.
const sshConnectTimeout = 30

// maxSSHStderr bounds what ssh says on stderr that is kept for an error message.
const maxSSHStderr = 4 << 10

// errSSHHost reports a DOCKER_HOST of scheme ssh that names no usable host.
var errSSHHost = errors.New("sandbox: DOCKER_HOST ssh:// needs [user@]host[:port] and nothing else")

// sshHost parses h when it is an ssh:// engine address (ok false for any other scheme). The user
// and host go to ssh's command line, so neither may look like an option.
func sshHost(h string) (u *url.URL, ok bool, err error) {
	if !strings.HasPrefix(h, "ssh://") {
		return nil, false, nil
	}
	u, err = url.Parse(h)
	if err != nil {
		return nil, true, fmt.Errorf("%w: %q: %v", errSSHHost, h, err)
	}
	_, hasPassword := u.User.Password()
	host, user := u.Hostname(), u.User.Username()
	if host == "" || strings.HasPrefix(host, "-") || strings.HasPrefix(user, "-") || hasPassword ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, true, fmt.Errorf("%w: %q", errSSHHost, h)
	}
	return u, true, nil
}

// sshArgs is ssh's command line for one connection to the engine on u: no terminal, never a
// password prompt, the host after "--" so that it can only be a host.
func sshArgs(u *url.URL) []string {
	args := []string{"-T", "-o", "BatchMode=yes", "-o", fmt.Sprintf("ConnectTimeout=%d", sshConnectTimeout)}
	if n := u.User.Username(); n != "" {
		args = append(args, "-l", n)
	}
	if p := u.Port(); p != "" {
		args = append(args, "-p", p)
	}
	return append(args, "--", u.Hostname(), "docker", "system", "dial-stdio")
}

// sshDialer returns the API client's dialer for the engine on u.
func sshDialer(u *url.URL) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// Not CommandContext: the dial's context ends with the dial, the connection does not.
		cmd := exec.Command(sshCommand, sshArgs(u)...)
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		c := &cmdConn{cmd: cmd, stdin: stdin, stdout: stdout, host: u.Host}
		c.stderr.max = maxSSHStderr
		cmd.Stderr = &c.stderr
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("starting %s: %w", sshCommand, err)
		}
		return c, nil
	}
}

// lockedBuffer is a cappedBuffer written by the command's stderr copier and read by Read.
type lockedBuffer struct {
	mu sync.Mutex
	cappedBuffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cappedBuffer.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cappedBuffer.String()
}

// cmdConn is a net.Conn over a command's stdin and stdout. Deadlines are not supported (the
// API client sets none; the run's contexts bound every call).
type cmdConn struct {
	cmd       *exec.Cmd
	stdin     io.WriteCloser
	stdout    io.ReadCloser
	stderr    lockedBuffer
	host      string
	closeOnce sync.Once
}

func (c *cmdConn) Read(p []byte) (int, error) {
	n, err := c.stdout.Read(p)
	if errors.Is(err, io.EOF) {
		if msg := strings.TrimSpace(c.stderr.String()); msg != "" {
			return n, fmt.Errorf("%s to %s closed: %s: %w", sshCommand, c.host, capField(msg), io.ErrUnexpectedEOF)
		}
	}
	return n, err
}

func (c *cmdConn) Write(p []byte) (int, error) { return c.stdin.Write(p) }

// Close ends the command: stdin closed, then the process killed and reaped.
func (c *cmdConn) Close() error {
	c.closeOnce.Do(func() {
		_ = c.stdin.Close()
		_ = c.cmd.Process.Kill()
		_ = c.cmd.Wait()
	})
	return nil
}

func (c *cmdConn) LocalAddr() net.Addr              { return sshAddr("local") }
func (c *cmdConn) RemoteAddr() net.Addr             { return sshAddr(c.host) }
func (c *cmdConn) SetDeadline(time.Time) error      { return nil }
func (c *cmdConn) SetReadDeadline(time.Time) error  { return nil }
func (c *cmdConn) SetWriteDeadline(time.Time) error { return nil }

// sshAddr names one end of an ssh connection.
type sshAddr string

func (a sshAddr) Network() string { return "ssh" }
func (a sshAddr) String() string  { return string(a) }
