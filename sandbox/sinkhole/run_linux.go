package sinkhole

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/fdbased"
	"gvisor.dev/gvisor/pkg/tcpip/link/nested"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"

	"github.com/rollgate/rollgate/inventory"
)

const (
	tunMTU      = 1500
	nicID       = 1
	maxInFlight = 512 // TCP handshakes in progress (tcp.NewForwarder)
	// maxDNSMessage is the largest DNS message over TCP (RFC 1035 §4.2.2 length prefix).
	maxDNSMessage = 1<<16 - 1
	// maxTCPDNSQueries caps the queries served on one TCP connection.
	maxTCPDNSQueries = 64
	// drainTimeout bounds the wait for connection handlers at shutdown.
	drainTimeout = 5 * time.Second
)

// httpReply is the canned answer to every HTTP request.
var httpReply = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")

// Run turns the calling process's network namespace into the sinkhole (see the package doc),
// writes one JSON inventory.NetEvent line per observation to events and diagnostics to log,
// and serves until ctx is done or cfg.Timeout passes; both end it with a nil error. Errors
// are for a namespace it could not set up and for a broken events stream.
//
// Run changes the namespace of the whole process: call it in a process of its own (the
// sinkhole container, or a test child in a fresh namespace).
func Run(ctx context.Context, cfg Config, events io.Writer, log io.Writer) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	lg := slog.New(slog.NewTextHandler(log, nil))
	if cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
	}

	rec := newRecorder(events, cfg.MaxEvents, lg) // MS counts from here

	fd, ipv6On, err := setupNamespace(cfg, lg)
	if err != nil {
		return err
	}
	defer unix.Close(fd)

	r := &runner{
		cfg:   cfg,
		log:   lg,
		rec:   rec,
		names: NewNames(ipv6On),
		dests: map[destKey]int{},
	}
	s, err := r.newStack(fd)
	if err != nil {
		return err
	}
	lg.Info(ReadyMessage, "if", cfg.IfName, "addr", IfPrefix4, "ipv6", ipv6On)
	if cfg.OnReady != nil {
		cfg.OnReady()
	}

	<-ctx.Done()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		lg.Info("timeout reached", "timeout", cfg.Timeout)
	}
	r.shutdown(s)
	return r.rec.close()
}

// setupNamespace brings lo and the TUN device up and routes everything to the TUN.
func setupNamespace(cfg Config, lg *slog.Logger) (fd int, ipv6On bool, err error) {
	if err := checkIsolated(); err != nil {
		return -1, false, err
	}
	if err := linkUp("lo"); err != nil {
		return -1, false, fmt.Errorf("sinkhole: %w", err)
	}
	fd, err = openTUN(cfg.IfName)
	if err != nil {
		return -1, false, fmt.Errorf("sinkhole: %w", err)
	}
	fail := func(err error) (int, bool, error) {
		unix.Close(fd)
		return -1, false, fmt.Errorf("sinkhole: %w", err)
	}
	idx, err := ifIndex(cfg.IfName)
	if err != nil {
		return fail(err)
	}
	if err := linkUp(cfg.IfName); err != nil {
		return fail(err)
	}
	if err := addAddr(idx, IfPrefix4); err != nil {
		return fail(err)
	}
	if err := addDefaultRoute(idx, IfPrefix4.Addr()); err != nil {
		return fail(err)
	}
	if cfg.DisableIPv6 {
		return fd, false, nil
	}
	// Docker disables IPv6 in containers on networks without it; go on with IPv4 alone.
	if err := addAddr(idx, IfPrefix6); err != nil {
		lg.Warn("IPv6 unavailable, answering A only", "err", err)
		return fd, false, nil
	}
	if err := addDefaultRoute(idx, IfPrefix6.Addr()); err != nil {
		lg.Warn("IPv6 unavailable, answering A only", "err", err)
		return fd, false, nil
	}
	return fd, true, nil
}

// checkIsolated refuses a namespace with any interface but lo: run by mistake on a host or
// in a networked container, Run would route that machine's traffic into the sinkhole.
func checkIsolated() error {
	ifs, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("sinkhole: listing interfaces: %w", err)
	}
	var others []string
	for _, i := range ifs {
		if i.Name != "lo" {
			others = append(others, i.Name)
		}
	}
	if len(others) > 0 {
		return fmt.Errorf("%w: it has %s", ErrNotIsolated, strings.Join(others, ", "))
	}
	return nil
}

// destKey names a destination for MaxEventsPerDest.
type destKey struct {
	proto string
	dst   netip.AddrPort
	query string // DNS: name and type, so each name has its own allowance
}

// runner is one Run's state.
type runner struct {
	cfg   Config
	log   *slog.Logger
	rec   *recorder
	names *Names

	mu      sync.Mutex
	closing bool
	active  [2]int // connections served, by pool
	wg      sync.WaitGroup
	conns   map[io.Closer]struct{}
	dests   map[destKey]int // events per destination, at most maxDests keys
	repeats int             // events dropped by MaxEventsPerDest
	limited bool
}

func (r *runner) newStack(fd int) (*stack.Stack, error) {
	link, err := fdbased.New(&fdbased.Options{FDs: []int{fd}, MTU: tunMTU})
	if err != nil {
		return nil, fmt.Errorf("sinkhole: link endpoint: %w", err)
	}
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, ipv6.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4, icmp.NewProtocol6},
	})
	// Handlers and routes first: once the NIC exists, packets arrive concurrently, and the
	// stack does not synchronise handler changes with delivery.
	tcpFwd := tcp.NewForwarder(s, 0, maxInFlight, r.onTCP)
	s.SetTransportProtocolHandler(tcp.ProtocolNumber, tcpFwd.HandlePacket)
	udpFwd := udp.NewForwarder(s, r.onUDP)
	s.SetTransportProtocolHandler(udp.ProtocolNumber, udpFwd.HandlePacket)
	s.SetRouteTable([]tcpip.Route{
		{Destination: header.IPv4EmptySubnet, NIC: nicID},
		{Destination: header.IPv6EmptySubnet, NIC: nicID},
	})
	fail := func(what string, err tcpip.Error) (*stack.Stack, error) {
		s.Destroy()
		return nil, fmt.Errorf("sinkhole: %s: %s", what, err)
	}
	if err := s.CreateNIC(nicID, newSniffer(link, fd, r.onEcho)); err != nil {
		return fail("creating NIC", err)
	}
	// Promiscuous: accept packets for every address. Spoofing: answer from that address.
	if err := s.SetPromiscuousMode(nicID, true); err != nil {
		return fail("promiscuous mode", err)
	}
	if err := s.SetSpoofing(nicID, true); err != nil {
		return fail("spoofing", err)
	}
	return s, nil
}

// Connection pools: DNS has its own, so a guest holding every other slot still resolves.
const (
	poolDNS = iota
	poolOther
)

func poolOf(port uint16) int {
	if port == 53 {
		return poolDNS
	}
	return poolOther
}

// acquire reserves a slot in pool and registers a handler goroutine.
func (r *runner) acquire(pool int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closing {
		return false
	}
	if r.active[pool] >= r.cfg.MaxConns {
		if !r.limited {
			r.limited = true
			r.log.Warn("connection limit reached; refusing until one ends", "max_conns", r.cfg.MaxConns)
		}
		return false
	}
	r.active[pool]++
	r.wg.Add(1)
	return true
}

func (r *runner) release(pool int) {
	r.mu.Lock()
	r.active[pool]--
	r.mu.Unlock()
	r.wg.Done()
}

// track remembers c so shutdown can close it; untrack forgets it.
func (r *runner) track(c io.Closer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conns == nil {
		r.conns = map[io.Closer]struct{}{}
	}
	r.conns[c] = struct{}{}
}

func (r *runner) untrack(c io.Closer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.conns, c)
}

func (r *runner) shutdown(s *stack.Stack) {
	r.mu.Lock()
	r.closing = true
	for c := range r.conns {
		c.Close()
	}
	if r.repeats > 0 {
		r.log.Warn("repeats not recorded", "count", r.repeats, "max_events_per_dest", MaxEventsPerDest)
	}
	r.mu.Unlock()
	s.Close() // aborts every endpoint, handshakes in progress included
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(drainTimeout):
		r.log.Warn("connection handlers still running at shutdown")
	}
	s.Wait()
}

// guard turns a handler panic into a log line; a hostile packet must not end the run.
func (r *runner) guard(what string) {
	if v := recover(); v != nil {
		r.log.Error("handler panic", "in", what, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	}
}

func toAddr(a tcpip.Address) netip.Addr {
	ip, _ := netip.AddrFromSlice(a.AsSlice())
	return ip.Unmap()
}

// attribute fills the name a DNS answer gave the destination address.
func (r *runner) attribute(ev *inventory.NetEvent, dst netip.Addr) {
	if name, ok := r.names.Name(dst); ok {
		ev.Name = name
	}
}

// onTCP runs (in its own goroutine) for every SYN to any address and port.
func (r *runner) onTCP(req *tcp.ForwarderRequest) {
	defer r.guard("tcp")
	id := req.ID()
	dst := netip.AddrPortFrom(toAddr(id.LocalAddress), id.LocalPort)
	pool := poolOf(dst.Port())
	if !r.acquire(pool) {
		req.Complete(true)
		if dst.Port() != 53 {
			ev := inventory.NetEvent{Proto: ProtoTCP, Addr: addrString(dst.Addr()), Port: int(dst.Port())}
			r.attribute(&ev, dst.Addr())
			r.emit(ev)
		}
		return
	}
	defer r.release(pool)
	var wq waiter.Queue
	ep, terr := req.CreateEndpoint(&wq)
	if terr != nil {
		req.Complete(true)
		r.log.Debug("tcp handshake failed", "dst", dst, "err", terr)
		return
	}
	req.Complete(false)
	conn := gonet.NewTCPConn(&wq, ep)
	r.track(conn)
	defer func() { r.untrack(conn); conn.Close() }()
	if dst.Port() == 53 {
		r.serveTCPDNS(conn, dst)
		return
	}
	r.serveTCP(conn, dst)
}

// serveTCP reads the first bytes of a connection, records what they say and answers.
func (r *runner) serveTCP(conn net.Conn, dst netip.AddrPort) {
	conn.SetDeadline(time.Now().Add(r.cfg.ReadTimeout))
	buf := readFirst(conn, r.cfg.MaxConnBytes)
	ev := inventory.NetEvent{Proto: ProtoTCP, Addr: addrString(dst.Addr()), Port: int(dst.Port())}
	switch {
	case LooksLikeTLS(buf):
		if sni, err := ParseClientHelloSNI(buf); err == nil {
			ev.SNI = sni
		} else {
			r.log.Debug("ClientHello unreadable", "dst", dst, "err", err)
		}
		conn.Write(tlsAlertHandshakeFailure)
	default:
		if line, host, ok := ParseHTTPRequest(buf); ok {
			ev.HTTP, ev.Host = line, host
			conn.Write(httpReply)
		}
	}
	// The name is only ever the one this sinkhole's DNS answer gave the address: SNI and Host
	// are what the guest claims, recorded beside it, never promoted to its identity.
	r.attribute(&ev, dst.Addr())
	r.emit(ev)
}

// serveTCPDNS answers DNS over TCP (RFC 7766): length-prefixed messages, several per connection.
func (r *runner) serveTCPDNS(conn net.Conn, dst netip.AddrPort) {
	var lenBuf [2]byte
	msg := make([]byte, maxDNSMessage)
	for range maxTCPDNSQueries {
		conn.SetDeadline(time.Now().Add(r.cfg.ReadTimeout))
		if _, err := io.ReadFull(conn, lenBuf[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(lenBuf[:]))
		if _, err := io.ReadFull(conn, msg[:n]); err != nil {
			return
		}
		resp, q := r.names.serveDNS(msg[:n], false)
		r.recordDNS(q, dst)
		if resp == nil {
			return
		}
		out := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(resp)), uint16(len(resp)))
		if _, err := conn.Write(append(out, resp...)); err != nil {
			return
		}
	}
}

func (r *runner) recordDNS(q *dnsQuery, dst netip.AddrPort) {
	ev := inventory.NetEvent{Proto: ProtoDNS, Addr: addrString(dst.Addr()), Port: int(dst.Port())}
	if q != nil {
		ev.Name, ev.QType = q.name, q.qtype
	}
	r.emit(ev)
}

// udpBufs holds receive buffers large enough for any datagram.
var udpBufs = sync.Pool{New: func() any { return new([1 << 16]byte) }}

// onUDP runs in the stack's receive path for the first datagram of each new 4-tuple: it
// must not block.
func (r *runner) onUDP(req *udp.ForwarderRequest) bool {
	defer r.guard("udp")
	id := req.ID()
	dst := netip.AddrPortFrom(toAddr(id.LocalAddress), id.LocalPort)
	pool := poolOf(dst.Port())
	if !r.acquire(pool) {
		r.recordUDP(dst, 0) // over the limit: not read, length unknown
		return true
	}
	var wq waiter.Queue
	ep, terr := req.CreateEndpoint(&wq)
	if terr != nil {
		r.release(pool)
		r.log.Debug("udp endpoint failed", "dst", dst, "err", terr)
		return true
	}
	conn := gonet.NewUDPConn(&wq, ep)
	r.track(conn)
	go func() {
		defer r.release(pool)
		defer func() { r.untrack(conn); conn.Close() }()
		defer r.guard("udp flow")
		r.serveUDP(conn, dst)
	}()
	return true
}

// serveUDP answers DNS on port 53 and records every other datagram, until the flow idles.
func (r *runner) serveUDP(conn net.Conn, dst netip.AddrPort) {
	buf := udpBufs.Get().(*[1 << 16]byte)
	defer udpBufs.Put(buf)
	for range maxDatagramsPerFlow {
		conn.SetReadDeadline(time.Now().Add(r.cfg.ReadTimeout))
		n, err := conn.Read(buf[:])
		if err != nil {
			return
		}
		if dst.Port() != 53 {
			r.recordUDP(dst, n)
			continue
		}
		resp, q := r.names.serveDNS(buf[:n], true)
		r.recordDNS(q, dst)
		if resp != nil {
			conn.SetWriteDeadline(time.Now().Add(r.cfg.ReadTimeout))
			conn.Write(resp)
		}
	}
}

func (r *runner) recordUDP(dst netip.AddrPort, n int) {
	ev := inventory.NetEvent{Proto: ProtoUDP, Addr: addrString(dst.Addr()), Port: int(dst.Port()), Bytes: n}
	r.attribute(&ev, dst.Addr())
	r.emit(ev)
}

// onEcho records an ICMP echo request.
func (r *runner) onEcho(dst netip.Addr) {
	ev := inventory.NetEvent{Proto: ProtoICMP, Addr: addrString(dst)}
	r.attribute(&ev, dst)
	r.emit(ev)
}

// emit records an event unless its destination (for DNS: its query) has had MaxEventsPerDest.
func (r *runner) emit(ev inventory.NetEvent) {
	a, _ := netip.ParseAddr(ev.Addr)
	k := destKey{proto: ev.Proto, dst: netip.AddrPortFrom(a, uint16(ev.Port))}
	if ev.Proto == ProtoDNS {
		k.query = ev.Name + " " + ev.QType
	}
	r.mu.Lock()
	n, seen := r.dests[k]
	if seen || len(r.dests) < maxDests {
		r.dests[k] = n + 1
	}
	if n >= MaxEventsPerDest {
		if r.repeats == 0 {
			r.log.Warn("destination repeats past MaxEventsPerDest are not recorded", "proto", ev.Proto, "dst", k.dst, "max", MaxEventsPerDest)
		}
		r.repeats++
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	r.rec.emit(ev)
}

// sniffer sits between the TUN endpoint and the stack. It answers ICMP echo requests itself,
// writing the reply straight to the TUN device: gVisor answers pings only to addresses it
// owns, and the sinkhole owns every address.
type sniffer struct {
	nested.Endpoint
	fd     int
	onEcho func(netip.Addr)
}

func newSniffer(child stack.LinkEndpoint, fd int, onEcho func(netip.Addr)) *sniffer {
	s := &sniffer{fd: fd, onEcho: onEcho}
	s.Init(child, s)
	return s
}

// maxEchoPeek is enough of a packet to see whether it is an echo request.
const maxEchoPeek = 64

// DeliverNetworkPacket implements stack.NetworkDispatcher.
func (s *sniffer) DeliverNetworkPacket(proto tcpip.NetworkProtocolNumber, pkt *stack.PacketBuffer) {
	data := pkt.Data()
	if h, ok := data.PullUp(min(data.Size(), maxEchoPeek)); ok && maybeEcho(h) {
		if dst, reply, ok := echoReply(data.AsRange().ToSlice()); ok {
			s.onEcho(dst)
			unix.Write(s.fd, reply) // a full TUN queue drops the reply, as a network would
			return
		}
	}
	s.Endpoint.DeliverNetworkPacket(proto, pkt)
}
