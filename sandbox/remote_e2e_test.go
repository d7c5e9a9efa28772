package sandbox

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/rollgate/rollgate/inventory"
)

// The sandbox against a remote engine, end to end: a second dockerd started by the test,
// listening on a loopback TCP port with mutual TLS (certificates made here), reached only
// through DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH, as a team's dedicated engine host
// would be. Both images are built on that engine by Run itself, except the guest's
// debootstrapped root (guest-base: minutes of debootstrap), which is built once on the local
// engine and moved over the API (saved by one engine, loaded by the other); so the second
// engine shares nothing with the first but the kernel.

// Limits of the second engine's life in the test.
const (
	// engineStartTimeout bounds how long the second dockerd has to answer.
	engineStartTimeout = 60 * time.Second
	// engineStopTimeout bounds its shutdown after SIGTERM, before SIGKILL.
	engineStopTimeout = 30 * time.Second
	// imageMoveTimeout bounds moving the guest's root image (about 0.9 GB) between the engines.
	imageMoveTimeout = 10 * time.Minute
)

// TestE2ERemoteEngine runs the c2 Beacon fixture through a second engine reached over TLS
// and checks that the sinkhole there saw the beacon's DNS query, and that nothing is left on
// that engine afterwards.
func TestE2ERemoteEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end sandbox test skipped in -short mode")
	}
	dockerd, err := exec.LookPath("dockerd")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("dockerd not on PATH (CI=true: the remote-engine test needs it; run scripts/docker-up.sh): %v", err)
		}
		t.Skipf("dockerd not on PATH: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("starting a second dockerd needs root")
	}
	began := time.Now()
	// The local engine (the environment's) provides the guest image and the static binary.
	guest, _ := e2eImages(t)
	bin := e2eState.bin
	inst := fixture(t, "beacon-1.1-c2.msi")
	progs := programsOf(t, inst)
	local, err := newClient()
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()

	eng := startEngine(t, dockerd)
	t.Setenv("DOCKER_HOST", eng.host)
	t.Setenv("DOCKER_TLS_VERIFY", "1")
	t.Setenv("DOCKER_CERT_PATH", eng.clientDir)
	t.Setenv("DOCKER_CONTEXT", "")
	ctx := context.Background()
	if err := Available(ctx); err != nil {
		t.Fatalf("Available() through DOCKER_HOST=%s = %v", eng.host, err)
	}
	if answersWithoutCert(eng) {
		t.Errorf("the engine at %s answered a client without a certificate; want the TLS handshake refused", eng.host)
	}

	// The debootstrapped root (guest-base) is moved; the guest itself (the wine prefix made by
	// wineboot in a container, then committed) is built on the second engine by Run.
	// Without the root locally (removed by hand), the guest itself is moved.
	base := guestBaseRepo + ":" + guestHash()
	if ok, err := imagePresent(ctx, local, base); err != nil {
		t.Fatal(err)
	} else if !ok {
		t.Logf("%s missing on the local engine: moving %s instead (the prefix is then not built remotely)", base, guest)
		base = guest
	}
	moveStart := time.Now()
	if err := moveImage(ctx, local, eng.client, base); err != nil {
		t.Fatalf("moving %s to the second engine: %v", base, err)
	}
	moved := time.Since(moveStart)

	labels := testLabel(t)
	runStart := time.Now()
	b, err := Run(ctx, Spec{Installer: inst, Programs: progs, SinkholeBinary: bin, Labels: labels,
		ProgramTimeout: 20 * time.Second, NoTimeTravel: true, Progress: t.Output()})
	if err != nil {
		reason := ""
		if b != nil {
			reason = b.Reason
		}
		t.Fatalf("Run(beacon-1.1-c2.msi) on %s = %v (reason %q)", eng.host, err, reason)
	}
	ran := time.Since(runStart)
	if !slices.ContainsFunc(b.Network, func(e inventory.NetEvent) bool {
		return e.Proto == "dns" && e.Name == "c2.beacon.invalid"
	}) {
		t.Errorf("Run on the second engine: network = %+v, want a DNS query for c2.beacon.invalid", b.Network)
	}
	if b.DiskCap == nil || b.DiskCap.Bytes <= 0 {
		t.Errorf("Run on the second engine: DiskCap = %+v, want the cap the run held the guest to", b.DiskCap)
	}
	// Both images were built there by Run (only the guest's root was moved).
	sinkRef, err := SinkholeRef(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{sinkRef, guest} {
		if ok, err := imagePresent(ctx, eng.client, ref); err != nil || !ok {
			t.Errorf("image %s on the second engine: present %v, %v; want Run to have built it there", ref, ok, err)
		}
	}
	if left := containersWith(t, labels); len(left) != 0 {
		t.Errorf("Run on the second engine left containers %v", left)
	}
	t.Logf("remote engine %s: guest root moved in %v, guest built and run in %v, %d network events; test wall time so far %v",
		eng.host, moved.Round(100*time.Millisecond), ran.Round(100*time.Millisecond), len(b.Network),
		time.Since(began).Round(100*time.Millisecond))
}

// testEngine is a second dockerd started by the test.
type testEngine struct {
	host      string // tcp://127.0.0.1:PORT
	addr      string // 127.0.0.1:PORT
	clientDir string // ca.pem, cert.pem, key.pem (DOCKER_CERT_PATH)
	caFile    string
	client    *client.Client // reaches it with the client certificate
}

// startEngine starts a dockerd of its own on a loopback TLS port with its own data root, exec
// root (and so its own managed containerd), no bridge and no iptables rules, and registers its
// clean-up: every container removed, the daemon stopped, leftover mounts detached and the
// folder removed, whether the test passed or not.
func startEngine(t *testing.T, dockerd string) *testEngine {
	t.Helper()
	// A short folder: containerd's sockets live under the exec root, and a unix socket path
	// has at most 108 bytes.
	dir, err := os.MkdirTemp("", "rg-eng-")
	if err != nil {
		t.Fatal(err)
	}
	eng := &testEngine{clientDir: filepath.Join(dir, "client")}
	srv := filepath.Join(dir, "server")
	writeTestCerts(t, srv, eng.clientDir)
	eng.caFile = filepath.Join(eng.clientDir, "ca.pem")
	eng.addr = "127.0.0.1:" + strconv.Itoa(freePort(t))
	eng.host = "tcp://" + eng.addr
	cfg := filepath.Join(dir, "daemon.json")
	if err := os.WriteFile(cfg, []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "dockerd.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(dockerd,
		"--config-file", cfg, // not /etc/docker/daemon.json
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "dockerd.pid"),
		"-H", eng.host,
		"--tlsverify",
		"--tlscacert", filepath.Join(srv, "ca.pem"),
		"--tlscert", filepath.Join(srv, "cert.pem"),
		"--tlskey", filepath.Join(srv, "key.pem"),
		"--bridge", "none", "--iptables=false", "--ip6tables=false", "--ip-masq=false",
		"--log-level", "warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		t.Fatalf("starting %s: %v", dockerd, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		stopEngine(t, eng, cmd, exited, dir)
		logf.Close()
		if t.Failed() {
			if log, err := os.ReadFile(logPath); err == nil {
				t.Logf("second dockerd's log:\n%s", tail(string(log), 4<<10))
			}
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing the second engine's folder: %v", err)
		}
	})

	eng.client, err = client.New(client.WithHost(eng.host),
		client.WithTLSClientConfig(eng.caFile, filepath.Join(eng.clientDir, "cert.pem"), filepath.Join(eng.clientDir, "key.pem")))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(engineStartTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, perr := eng.client.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
		cancel()
		if perr == nil {
			return eng
		}
		select {
		case werr := <-exited:
			exited <- werr // for the clean-up
			log, _ := os.ReadFile(logPath)
			t.Fatalf("the second dockerd exited (%v) before answering:\n%s", werr, tail(string(log), 4<<10))
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second dockerd did not answer at %s within %v: %v", eng.host, engineStartTimeout, perr)
		}
	}
}

// stopEngine removes every container of the second engine (all of them are the test's), stops
// the daemon (SIGTERM, then SIGKILL to its process group), kills its managed containerd if it
// outlived it, and detaches whatever is still mounted under dir.
func stopEngine(t *testing.T, eng *testEngine, cmd *exec.Cmd, exited chan error, dir string) {
	if eng.client != nil {
		ctx, cancel := context.WithTimeout(context.Background(), removeTimeout)
		res, err := eng.client.ContainerList(ctx, client.ContainerListOptions{All: true})
		cancel()
		if err == nil {
			for _, c := range res.Items {
				if err := removeContainer(eng.client, c.ID); err != nil {
					t.Errorf("clean-up: %v", err)
				}
			}
		}
		eng.client.Close()
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(engineStopTimeout):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		t.Errorf("the second dockerd did not stop within %v of SIGTERM; killed", engineStopTimeout)
	}
	// The managed containerd normally dies with dockerd; kill it if it did not (only the one
	// whose command line names this engine's folder).
	if b, err := os.ReadFile(filepath.Join(dir, "exec", "containerd", "containerd.pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
			if cl, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && strings.Contains(string(cl), dir) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	for _, m := range mountsUnder(dir) {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
			t.Logf("clean-up: unmounting %s: %v", m, err)
		}
	}
}

// mountsUnder lists the mount points below dir, deepest first.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// mountinfo: ID parent major:minor root mount-point options ...
		if fs := strings.Fields(sc.Text()); len(fs) > 4 && strings.HasPrefix(fs[4], dir+"/") {
			out = append(out, fs[4])
		}
	}
	slices.Reverse(out)
	return out
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// freePort returns a loopback TCP port free at the time of asking.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// answersWithoutCert speaks TLS to the engine trusting its CA but offering no client
// certificate, and reports whether the engine answered (it must refuse: the handshake or the
// first read fails).
func answersWithoutCert(eng *testEngine) bool {
	ca, err := os.ReadFile(eng.caFile)
	if err != nil {
		return false
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", eng.addr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, "GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n"); err != nil {
		return false
	}
	buf := make([]byte, 64)
	n, err := conn.Read(buf)
	return err == nil && n > 0
}

// moveImage copies ref from one engine to another through the API: saved as a tar by the
// first, streamed straight into the second's load.
func moveImage(ctx context.Context, from, to *client.Client, ref string) error {
	ctx, cancel := context.WithTimeout(ctx, imageMoveTimeout)
	defer cancel()
	saved, err := from.ImageSave(ctx, []string{ref})
	if err != nil {
		return fmt.Errorf("saving: %w", err)
	}
	defer saved.Close()
	res, err := to.ImageLoad(ctx, saved, client.ImageLoadWithQuiet(true))
	if err != nil {
		return fmt.Errorf("loading: %w", err)
	}
	defer res.Close()
	if err := streamError(res); err != nil {
		return fmt.Errorf("loading: %w", err)
	}
	if ok, err := imagePresent(ctx, to, ref); err != nil || !ok {
		return fmt.Errorf("after loading, %s present %v (%v)", ref, ok, err)
	}
	return nil
}

// writeTestCerts makes a throw-away CA and, signed by it, a server certificate for 127.0.0.1
// (into srvDir: ca.pem, cert.pem, key.pem) and a client certificate (into cliDir, the layout
// DOCKER_CERT_PATH expects). Keys are ECDSA P-256, PKCS#8.
func writeTestCerts(t *testing.T, srvDir, cliDir string) {
	t.Helper()
	for _, d := range []string{srvDir, cliDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	serial := int64(1)
	template := func(cn string) *x509.Certificate {
		serial++
		return &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
		}
	}
	caKey := newKey()
	caTmpl := template("rollgate test CA")
	caTmpl.IsCA, caTmpl.BasicConstraintsValid = true, true
	caTmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	write := func(path, typ string, der []byte) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	issue := func(dir string, tmpl *x509.Certificate) {
		k := newKey()
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, k.Public(), caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		write(filepath.Join(dir, "ca.pem"), "CERTIFICATE", caDER)
		write(filepath.Join(dir, "cert.pem"), "CERTIFICATE", der)
		write(filepath.Join(dir, "key.pem"), "PRIVATE KEY", kder)
	}
	srv := template("127.0.0.1")
	srv.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	srv.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	issue(srvDir, srv)
	cli := template("rollgate test client")
	cli.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	issue(cliDir, cli)
}
