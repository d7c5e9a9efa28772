// Package sinkhole is the network end of rollgate's sandbox: it owns a network namespace that
// has no way off the machine and answers, itself, everything a guest in that namespace sends.
//
// How the namespace is built (Run, Linux only, needs CAP_NET_ADMIN and /dev/net/tun, and no
// external binaries, since the sinkhole runs from a scratch image):
//
//  1. The container is created with network mode "none": the namespace holds only lo. Run
//     refuses any other namespace (ErrNotIsolated) rather than take over a host's routes.
//  2. lo is set up (SIOCSIFFLAGS), so the guest's loopback works.
//  3. /dev/net/tun is opened with IFF_TUN|IFF_NO_PI (TUNSETIFF) as Config.IfName, "sink0".
//     It is a point-to-point device whose far end is a file descriptor in this process.
//  4. The device is set up and given 192.0.2.1/24 (and 2001:db8:ffff::1/64 unless IPv6 is
//     disabled in the namespace), and the default routes 0.0.0.0/0 and ::/0 point at it
//     (rtnetlink RTM_NEWADDR / RTM_NEWROUTE on a raw socket). These are the only routes
//     besides lo's: the namespace has no interface that leads off the machine.
//  5. The descriptor is served by gVisor's userspace TCP/IP stack (link/fdbased, IPv4, IPv6,
//     TCP, UDP, ICMP) in promiscuous and spoofing mode, so it accepts packets for every
//     destination address and replies as that address; echo requests are answered by a
//     shim between the descriptor and the stack. Nothing is forwarded anywhere.
//
// What it answers: DNS on UDP and TCP port 53 of every address (every name exists, A answers
// from 198.51.100.0/24, AAAA from 2001:db8::/32, one address per name so connections can be
// attributed; see Names); TCP on every other port (the first bytes are read: a TLS ClientHello
// gets its SNI recorded and a handshake_failure alert, an HTTP request its request line and
// Host recorded and "200 OK"); UDP datagrams are recorded and dropped; ICMP and ICMPv6 echo
// requests are recorded and answered. Each observation is one inventory.NetEvent, one JSON
// line: Proto is "dns", "tcp", "udp" or "icmp"; for dns, Addr and Port are the resolver the
// guest asked; for the others Name is the name whose answer was the destination address, and
// nothing else (SNI and Host are the guest's claims, recorded beside it, never its identity;
// a destination no answer named has no Name); MS counts from the start of Run.
//
// Nothing is trusted: every length read from the guest is bounded (MaxClientHelloBytes,
// MaxRequestLineBytes, MaxHeaderBytes, Config.MaxConnBytes), every connection has a deadline,
// and events are capped in total (Config.MaxEvents) and per destination (MaxEventsPerDest).
//
// The guest container later joins the namespace (network mode "container:<sinkhole>") and
// is pointed at 192.0.2.53 as its resolver; every other resolver address works as well.
package sinkhole

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/rollgate/rollgate/inventory"
)

// Defaults of Config's limits; a zero field takes its default, a negative one is an error.
const (
	DefaultIfName       = "sink0"
	DefaultMaxEvents    = 10000
	DefaultMaxConnBytes = MaxClientHelloBytes // bytes read from one TCP connection
	DefaultMaxConns     = 256                 // TCP connections and UDP flows served at once
	DefaultReadTimeout  = 3 * time.Second     // per connection / per idle UDP flow
	// MaxEventsPerDest caps the events for one destination (protocol, address, port; for DNS
	// also the query), so a guest retrying or flooding one target cannot crowd everything
	// else out of MaxEvents. Repeats past it are counted in the log.
	MaxEventsPerDest = 64
	// maxDests caps the destinations tracked for MaxEventsPerDest; past it only MaxEvents holds.
	maxDests = 1 << 14
	// maxDatagramsPerFlow is how many datagrams one UDP flow serves before its endpoint is
	// recycled, so a flow cannot hold a connection slot forever.
	maxDatagramsPerFlow = 64
)

// Address plan of the namespace (documentation ranges, RFC 5737 / RFC 3849).
var (
	// IfPrefix4 is the TUN device's own address.
	IfPrefix4 = netip.MustParsePrefix("192.0.2.1/24")
	// IfPrefix6 is the TUN device's own IPv6 address.
	IfPrefix6 = netip.MustParsePrefix("2001:db8:ffff::1/64")
	// Resolver is the address the guest's resolv.conf should name; any other works too.
	Resolver = netip.MustParseAddr("192.0.2.53")
)

// Config tunes Run. The zero value is usable.
type Config struct {
	// IfName names the TUN device; DefaultIfName when empty.
	IfName string
	// MaxEvents caps the events written; later ones are counted and logged, not written.
	MaxEvents int
	// MaxConnBytes caps the bytes read from one TCP connection.
	MaxConnBytes int
	// MaxConns caps TCP connections and UDP flows served at once, for DNS and for everything
	// else separately; beyond it TCP gets a reset and UDP is dropped (both still recorded).
	MaxConns int
	// ReadTimeout bounds how long one connection is read, and how long a UDP flow may idle.
	ReadTimeout time.Duration
	// Timeout ends Run after this long (0: only ctx ends it). Reaching it is not an error.
	Timeout time.Duration
	// DisableIPv6 leaves IPv6 unrouted and AAAA queries unanswered. Without it, IPv6 is still
	// skipped (and logged) when the namespace refuses an IPv6 address, as Docker's do by default.
	DisableIPv6 bool
	// OnReady, if set, is called once the namespace routes to the sinkhole and it serves.
	OnReady func()
}

func (c Config) withDefaults() (Config, error) {
	if c.MaxEvents < 0 || c.MaxConnBytes < 0 || c.MaxConns < 0 || c.ReadTimeout < 0 || c.Timeout < 0 {
		return c, errors.New("sinkhole: negative limit in Config")
	}
	if c.IfName == "" {
		c.IfName = DefaultIfName
	}
	if c.MaxEvents == 0 {
		c.MaxEvents = DefaultMaxEvents
	}
	if c.MaxConnBytes == 0 {
		c.MaxConnBytes = DefaultMaxConnBytes
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	return c, nil
}

// ReadyMessage is in the log line Run writes once the namespace routes to the sinkhole: an
// orchestrator that cannot pass Config.OnReady (the sinkhole container) starts the guest
// after seeing it on stderr.
const ReadyMessage = "sinkhole serving"

// ErrNotIsolated: Run was called in a network namespace that has interfaces besides lo. The
// sinkhole only takes over a namespace of its own (a container with network mode "none").
var ErrNotIsolated = errors.New("sinkhole: the network namespace is not isolated")

// Protocols named in NetEvent.Proto.
const (
	ProtoDNS  = "dns"
	ProtoTCP  = "tcp"
	ProtoUDP  = "udp"
	ProtoICMP = "icmp"
)

// recorder writes events as JSON lines, at most max of them, each with one Write so a reader
// of the stream never sees half a line.
type recorder struct {
	start time.Time
	log   *slog.Logger

	mu      sync.Mutex
	w       io.Writer
	max     int
	n       int
	dropped int
	closed  bool
	err     error
}

func newRecorder(w io.Writer, max int, log *slog.Logger) *recorder {
	return &recorder{start: time.Now(), w: w, max: max, log: log}
}

func (r *recorder) emit(ev inventory.NetEvent) {
	ev.MS = time.Since(r.start).Milliseconds()
	line, err := json.Marshal(ev)
	if err != nil {
		return // NetEvent holds only strings and ints
	}
	line = append(line, '\n')
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.closed || r.err != nil:
		return
	case r.n >= r.max:
		if r.dropped == 0 {
			r.log.Warn("event limit reached; further events are dropped", "max_events", r.max)
		}
		r.dropped++
		return
	}
	r.n++
	if _, err := r.w.Write(line); err != nil {
		r.err = fmt.Errorf("writing event: %w", err)
		r.log.Error("events stream broken", "err", err)
	}
}

// close stops further writes and returns the first write error.
func (r *recorder) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.dropped > 0 {
		r.log.Warn("events dropped at the limit", "dropped", r.dropped, "written", r.n)
	}
	return r.err
}

// addrString formats a destination address for an event (IPv4-mapped IPv6 unmapped).
func addrString(a netip.Addr) string { return a.Unmap().String() }
