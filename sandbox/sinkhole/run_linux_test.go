package sinkhole

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rollgate/rollgate/inventory"
)

// childEnv marks the re-executed test binary that runs inside a fresh network namespace.
const childEnv = "ROLLGATE_SINKHOLE_NETNS_CHILD"

// requireNetns skips unless the test can create network namespaces and TUN devices; under
// CI=true it fails instead, since CI must exercise the sinkhole.
func requireNetns(t *testing.T, why string) {
	t.Helper()
	if why == "" {
		switch {
		case os.Geteuid() != 0:
			why = "needs root for a network namespace and a TUN device"
		default:
			if _, err := os.Stat("/dev/net/tun"); err != nil {
				why = fmt.Sprintf("no TUN device: %v", err)
			}
		}
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true)", why)
	}
	t.Skip(why)
}

// TestRunInNamespace re-executes this test binary in a new network namespace, where
// TestNamespaceChild starts the sinkhole and plays the guest. No client runs out here.
func TestRunInNamespace(t *testing.T) {
	requireNetns(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestNamespaceChild$", "-test.v", "-test.count=1", "-test.timeout=80s")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	if errors.Is(err, syscall.EPERM) {
		requireNetns(t, fmt.Sprintf("cannot create a network namespace: %v", err))
	}
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestNamespaceChild")) {
		t.Fatalf("namespace child: %v\n%s", err, out)
	}
	if testing.Verbose() {
		t.Logf("namespace child output:\n%s", out)
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// decodeEvents parses the events stream strictly: JSON lines of NetEvent, nothing else.
func decodeEvents(t *testing.T, b []byte) []inventory.NetEvent {
	t.Helper()
	var evs []inventory.NetEvent
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var ev inventory.NetEvent
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("event line %q: %v", sc.Text(), err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// routeDevices returns the device column of /proc/net/route or /proc/net/ipv6_route.
func routeDevices(t *testing.T, path string, col func(fields []string) string, skipHeader bool) (devs []string, lines []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	for i, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if (skipHeader && i == 0) || strings.TrimSpace(l) == "" {
			continue
		}
		devs = append(devs, col(strings.Fields(l)))
		lines = append(lines, l)
	}
	return devs, lines
}

func TestNamespaceChild(t *testing.T) {
	if os.Getenv(childEnv) != "1" {
		t.Skip("runs only inside the network namespace TestRunInNamespace creates")
	}
	// The network rule: refuse unless this is a fresh namespace holding nothing but lo.
	ifs, err := net.Interfaces()
	if err != nil || len(ifs) != 1 || ifs[0].Name != "lo" {
		t.Fatalf("refusing to run: not in a fresh network namespace (interfaces %v, %v)", ifs, err)
	}

	var events, logs syncBuffer
	ready := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{OnReady: func() { close(ready) }, ReadTimeout: 2 * time.Second}, &events, &logs)
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Run ended before ready: %v\n%s", err, logs.Bytes())
	case <-time.After(20 * time.Second):
		t.Fatalf("Run not ready after 20s\n%s", logs.Bytes())
	}
	t.Cleanup(func() { t.Logf("sinkhole log:\n%s", logs.Bytes()) })
	ipv6On := !strings.Contains(string(logs.Bytes()), "IPv6 unavailable")

	t.Run("routes", func(t *testing.T) {
		devs, lines := routeDevices(t, "/proc/net/route", func(f []string) string { return f[0] }, true)
		for _, d := range devs {
			if d != DefaultIfName && d != "lo" {
				t.Errorf("IPv4 route via %q, want only %s and lo:\n%s", d, DefaultIfName, strings.Join(lines, "\n"))
			}
		}
		if !slices.ContainsFunc(lines, func(l string) bool {
			f := strings.Fields(l)
			return f[0] == DefaultIfName && f[1] == "00000000" && f[7] == "00000000"
		}) {
			t.Errorf("no IPv4 default route via %s:\n%s", DefaultIfName, strings.Join(lines, "\n"))
		}
		devs6, lines6 := routeDevices(t, "/proc/net/ipv6_route", func(f []string) string { return f[len(f)-1] }, false)
		for _, d := range devs6 {
			if d != DefaultIfName && d != "lo" {
				t.Errorf("IPv6 route via %q, want only %s and lo:\n%s", d, DefaultIfName, strings.Join(lines6, "\n"))
			}
		}
		after, _ := net.Interfaces()
		var names []string
		for _, i := range after {
			names = append(names, i.Name)
		}
		slices.Sort(names)
		if want := []string{"lo", DefaultIfName}; !slices.Equal(names, want) {
			t.Errorf("interfaces %q, want %q", names, want)
		}
	})

	const name = "c2.beacon.invalid"
	resolver := func(network, server string) *net.Resolver {
		return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		}}
	}
	lookupCtx, lookupCancel := context.WithTimeout(ctx, 10*time.Second)
	defer lookupCancel()
	var resolved netip.Addr
	for _, srv := range []struct{ network, addr string }{{"udp", "192.0.2.53:53"}, {"tcp", "203.0.113.53:53"}} {
		addrs, err := resolver(srv.network, srv.addr).LookupNetIP(lookupCtx, "ip4", name)
		if err != nil || len(addrs) != 1 || addrs[0] != PreferredAddr4(name) {
			t.Fatalf("LookupNetIP(%q) via %s %s = %v, %v, want [%v]", name, srv.network, srv.addr, addrs, err, PreferredAddr4(name))
		}
		resolved = addrs[0]
	}
	if ipv6On {
		addrs, err := resolver("udp", "192.0.2.53:53").LookupNetIP(lookupCtx, "ip6", name)
		if err != nil || len(addrs) != 1 || addrs[0] != Addr6(name) {
			t.Errorf("LookupNetIP(%q, ip6) = %v, %v, want [%v]", name, addrs, err, Addr6(name))
		}
	}

	dialer := &net.Dialer{Timeout: 5 * time.Second}
	_, err = tls.DialWithDialer(dialer, "tcp", netip.AddrPortFrom(resolved, 443).String(), &tls.Config{ServerName: name})
	var op *net.OpError // crypto/tls reports a received alert as a "remote error"
	if !errors.As(err, &op) || op.Op != "remote error" {
		t.Errorf("TLS to %v:443 = %v, want a handshake-failure alert", resolved, err)
	}

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true, DialContext: dialer.DialContext}}
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://198.51.100.23:8443/beacon?id=7", nil)
	req.Host = name
	resp, err := client.Do(req)
	if err != nil {
		t.Errorf("HTTP GET 198.51.100.23:8443: %v", err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "ok\n" {
			t.Errorf("HTTP GET 198.51.100.23:8443 = %d %q, want 200 %q", resp.StatusCode, body, "ok\n")
		}
	}

	u, err := net.Dial("udp", "203.0.113.5:53535")
	if err != nil {
		t.Fatalf("dialing UDP: %v", err)
	}
	u.Write([]byte("beacon"))
	u.Close()

	// A TCP connection that says nothing is still recorded, after the read timeout.
	if c, err := dialer.Dial("tcp", "203.0.113.80:25"); err != nil {
		t.Errorf("TCP to 203.0.113.80:25: %v", err)
	} else {
		defer c.Close()
	}

	// ICMP echo, over a raw socket: recorded, and answered by the stack.
	if err := ping(netip.MustParseAddr("203.0.113.7")); err != nil {
		t.Errorf("ping 203.0.113.7: %v", err)
	}

	want := []inventory.NetEvent{
		{Proto: ProtoDNS, Name: name, QType: "A", Addr: "192.0.2.53", Port: 53},
		{Proto: ProtoDNS, Name: name, QType: "A", Addr: "203.0.113.53", Port: 53},
		{Proto: ProtoTCP, Name: name, Addr: resolved.String(), Port: 443, SNI: name},
		// A raw address no DNS answer named keeps no name: the Host header is only a claim.
		{Proto: ProtoTCP, Addr: "198.51.100.23", Port: 8443, HTTP: "GET /beacon?id=7 HTTP/1.1", Host: name},
		{Proto: ProtoUDP, Addr: "203.0.113.5", Port: 53535, Bytes: len("beacon")},
		{Proto: ProtoTCP, Addr: "203.0.113.80", Port: 25},
		{Proto: ProtoICMP, Addr: "203.0.113.7"},
	}
	if ipv6On {
		a6 := netip.AddrPortFrom(Addr6(name), 80)
		req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+a6.String()+"/v6", strings.NewReader("x"))
		if resp, err := client.Do(req); err != nil {
			t.Errorf("HTTP POST %v: %v", a6, err)
		} else {
			resp.Body.Close()
		}
		want = append(want, inventory.NetEvent{Proto: ProtoTCP, Name: name, Addr: a6.Addr().String(), Port: 80, HTTP: "POST /v6 HTTP/1.1", Host: a6.String()})
		if err := ping(a6.Addr()); err != nil {
			t.Errorf("ping %v: %v", a6.Addr(), err)
		}
		want = append(want, inventory.NetEvent{Proto: ProtoICMP, Name: name, Addr: a6.Addr().String()})
	}
	deadline := time.Now().Add(15 * time.Second)
	var got []inventory.NetEvent
	for {
		got = decodeEvents(t, events.Bytes())
		if missing := missingEvents(got, want); len(missing) == 0 || time.Now().After(deadline) {
			for _, m := range missing {
				t.Errorf("no event %+v", m)
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Run("load", func(t *testing.T) {
		const n, workers = 200, 32
		before := len(decodeEvents(t, events.Bytes()))
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		jobs := make(chan int)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range jobs {
					url := fmt.Sprintf("http://203.0.113.%d:%d/load", 1+i%250, 10000+i)
					resp, err := client.Get(url)
					if err != nil {
						errs <- err
						continue
					}
					resp.Body.Close()
				}
			}()
		}
		for i := range n {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("load request: %v", err)
		}
		elapsed := time.Since(start)
		deadline := time.Now().Add(10 * time.Second)
		for len(decodeEvents(t, events.Bytes()))-before < n && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if got := len(decodeEvents(t, events.Bytes())) - before; got != n {
			t.Errorf("%d requests gave %d events", n, got)
		}
		t.Logf("%d HTTP requests, %d at a time: %v (%.0f/s)", n, workers, elapsed, n/elapsed.Seconds())
	})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil after cancel", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("Run did not return 15s after cancel")
	}
	// Nothing is written once Run has returned.
	n := len(events.Bytes())
	time.Sleep(200 * time.Millisecond)
	if len(events.Bytes()) != n {
		t.Errorf("events written after Run returned")
	}
	for _, ev := range decodeEvents(t, events.Bytes()) {
		if ev.MS < 0 {
			t.Errorf("event %+v: negative ms", ev)
		}
		if t.Failed() {
			t.Logf("event %+v", ev)
		}
	}

	// Run again in the same namespace (the first run's device went with its descriptor),
	// now to hit the limits: one connection at a time, three events, a four-second run.
	t.Run("limits", func(t *testing.T) {
		var events, logs syncBuffer
		ready := make(chan struct{})
		done := make(chan error, 1)
		start := time.Now()
		cfg := Config{MaxConns: 1, MaxEvents: 3, ReadTimeout: 2 * time.Second, Timeout: 4 * time.Second, OnReady: func() { close(ready) }}
		go func() { done <- Run(context.Background(), cfg, &events, &logs) }()
		select {
		case <-ready:
		case err := <-done:
			t.Fatalf("Run ended before ready: %v\n%s", err, logs.Bytes())
		}
		silent, err := dialer.Dial("tcp", "203.0.113.9:7")
		if err != nil {
			t.Fatalf("TCP to 203.0.113.9:7: %v", err)
		}
		defer silent.Close()
		time.Sleep(100 * time.Millisecond) // let the handler take the only slot
		if c, err := dialer.Dial("tcp", "203.0.113.9:8"); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("TCP to 203.0.113.9:8 over MaxConns = %v, want ECONNREFUSED", err)
			if c != nil {
				c.Close()
			}
		}
		for port := 1; port <= 4; port++ {
			if u, err := net.Dial("udp", fmt.Sprintf("203.0.113.9:%d", port)); err == nil {
				u.Write([]byte("x"))
				u.Close()
			}
			time.Sleep(50 * time.Millisecond)
		}
		// DNS has its own slots: it still answers while the silent connection holds the others.
		dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer dcancel()
		if addrs, err := resolver("udp", "192.0.2.53:53").LookupNetIP(dctx, "ip4", "at-the-limit.test"); err != nil || len(addrs) != 1 {
			t.Errorf("LookupNetIP at the connection limit = %v, %v, want one address", addrs, err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v, want nil at its timeout", err)
			}
			if d := time.Since(start); d < 3*time.Second {
				t.Errorf("Run returned after %v, before its 4s timeout", d)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("Run did not stop at its timeout")
		}
		got := decodeEvents(t, events.Bytes())
		if len(got) != 3 || got[0].Proto != ProtoTCP || got[0].Port != 8 {
			t.Errorf("events = %+v, want 3, the first the refused TCP to port 8", got)
		}
		if !strings.Contains(string(logs.Bytes()), "dropped=") {
			t.Errorf("log does not report dropped events:\n%s", logs.Bytes())
		}
	})

	// Docker containers usually come with IPv6 disabled: the sinkhole goes on with IPv4 and
	// leaves AAAA unanswered rather than hand out addresses with no route.
	t.Run("IPv6 disabled", func(t *testing.T) {
		for _, p := range []string{"/proc/sys/net/ipv6/conf/all/disable_ipv6", "/proc/sys/net/ipv6/conf/default/disable_ipv6"} {
			if err := os.WriteFile(p, []byte("1"), 0o644); err != nil {
				t.Skipf("cannot disable IPv6 in the namespace: %v", err)
			}
		}
		var events, logs syncBuffer
		ready := make(chan struct{})
		done := make(chan error, 1)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { done <- Run(ctx, Config{OnReady: func() { close(ready) }}, &events, &logs) }()
		select {
		case <-ready:
		case err := <-done:
			t.Fatalf("Run ended before ready: %v\n%s", err, logs.Bytes())
		}
		if !strings.Contains(string(logs.Bytes()), "IPv6 unavailable") {
			t.Errorf("log does not say IPv6 is unavailable:\n%s", logs.Bytes())
		}
		lctx, lcancel := context.WithTimeout(ctx, 10*time.Second)
		defer lcancel()
		r := resolver("udp", "192.0.2.53:53")
		if addrs, err := r.LookupNetIP(lctx, "ip6", name); len(addrs) != 0 {
			t.Errorf("LookupNetIP(%q, ip6) without IPv6 = %v, %v, want none", name, addrs, err)
		}
		if addrs, err := r.LookupNetIP(lctx, "ip4", name); err != nil || len(addrs) != 1 {
			t.Errorf("LookupNetIP(%q, ip4) without IPv6 = %v, %v, want one", name, addrs, err)
		}
		devs6, lines6 := routeDevices(t, "/proc/net/ipv6_route", func(f []string) string { return f[len(f)-1] }, false)
		if slices.Contains(devs6, DefaultIfName) {
			t.Errorf("IPv6 routes via %s with IPv6 disabled:\n%s", DefaultIfName, strings.Join(lines6, "\n"))
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
		for _, p := range []string{"/proc/sys/net/ipv6/conf/all/disable_ipv6", "/proc/sys/net/ipv6/conf/default/disable_ipv6"} {
			os.WriteFile(p, []byte("0"), 0o644)
		}
		t.Logf("sinkhole log:\n%s", logs.Bytes())
	})
}

// ping sends one ICMP or ICMPv6 echo request over a raw socket and waits for the reply.
// The kernel verifies an ICMPv6 reply's checksum before a raw socket sees it.
func ping(dst netip.Addr) error {
	network, laddr, echo, reply := "ip4:icmp", "0.0.0.0", byte(8), byte(0)
	if dst.Is6() {
		network, laddr, echo, reply = "ip6:ipv6-icmp", "::", 128, 129
	}
	c, err := net.ListenPacket(network, laddr)
	if err != nil {
		return err
	}
	defer c.Close()
	msg := []byte{echo, 0, 0, 0, 0x12, 0x34, 0, 1, 'r', 'g'}
	if dst.Is4() { // the kernel fills in ICMPv6 checksums
		var sum uint32
		for i := 0; i < len(msg); i += 2 {
			sum += uint32(msg[i])<<8 | uint32(msg[i+1])
		}
		sum = sum>>16 + sum&0xffff
		sum += sum >> 16
		msg[2], msg[3] = byte(^sum>>8), byte(^sum)
	}
	if _, err := c.WriteTo(msg, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
		return err
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return err
		}
		if n >= 8 && buf[0] == reply && from.String() == dst.String() && buf[4] == 0x12 && buf[5] == 0x34 {
			return nil
		}
	}
}

// missingEvents returns the wanted events not in got, comparing all fields but MS.
func missingEvents(got, want []inventory.NetEvent) []inventory.NetEvent {
	var missing []inventory.NetEvent
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g inventory.NetEvent) bool { g.MS = 0; return g == w }) {
			missing = append(missing, w)
		}
	}
	return missing
}

// TestRunRefusesHostNamespace: run where the test runs (a host or a networked container), Run
// must refuse before it changes anything. A namespace with only lo is left alone.
func TestRunRefusesHostNamespace(t *testing.T) {
	ifs, err := net.Interfaces()
	if err != nil || len(ifs) < 2 {
		t.Skipf("this namespace holds only lo (%v); Run would take it over", err)
	}
	before, _ := os.ReadFile("/proc/net/route")
	err = Run(context.Background(), Config{}, io.Discard, io.Discard)
	if !errors.Is(err, ErrNotIsolated) {
		t.Fatalf("Run in a namespace with %d interfaces = %v, want %v", len(ifs), err, ErrNotIsolated)
	}
	if after, _ := os.ReadFile("/proc/net/route"); !bytes.Equal(before, after) {
		t.Errorf("routes changed:\n%s\nbecame\n%s", before, after)
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := Config{}.withDefaults()
	if err != nil || c.IfName != DefaultIfName || c.MaxEvents != DefaultMaxEvents || c.MaxConns != DefaultMaxConns ||
		c.MaxConnBytes != DefaultMaxConnBytes || c.ReadTimeout != DefaultReadTimeout || c.Timeout != 0 {
		t.Errorf("Config{}.withDefaults() = %+v, %v", c, err)
	}
	if _, err := (Config{MaxEvents: -1}).withDefaults(); err == nil {
		t.Errorf("Config{MaxEvents: -1}.withDefaults() = nil error, want one")
	}
}
