package sinkhole

import (
	"crypto/sha256"
	"encoding/binary"
	"hash/fnv"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// Address plan. All three are documentation ranges (RFC 5737, RFC 3849): nothing real
// lives there, so an answer can never point a guest at a machine that exists.
var (
	// AnswerPrefix4 holds the A answers; .0 and .255 are never handed out.
	AnswerPrefix4 = netip.MustParsePrefix("198.51.100.0/24")
	// AnswerPrefix6 holds the AAAA answers.
	AnswerPrefix6 = netip.MustParsePrefix("2001:db8::/32")
)

const (
	// MaxNames caps the names the sinkhole remembers for attribution; later names still get
	// their preferred address but are not attributed.
	MaxNames = 1 << 12
	// answerTTL is short so a guest that caches does not outlive a run's mapping.
	answerTTL = 60
	// ednsUDPSize is the payload size the sinkhole advertises (DNS flag day 2020).
	ednsUDPSize = 1232
	slots4      = 254 // .1 .. .254
)

// CanonicalName is the form names are mapped and recorded in: lower case, no final dot.
func CanonicalName(name string) string {
	return strings.TrimSuffix(strings.ToLower(name), ".")
}

// PreferredAddr4 is the address a name gets in 198.51.100.0/24 unless another name of the same
// run already holds it. It depends only on the canonical name.
func PreferredAddr4(name string) netip.Addr {
	return slotAddr4(preferredSlot(name))
}

// Addr6 is the address a name gets in 2001:db8::/32: 96 bits of the name's SHA-256, so two
// names practically never share one and it depends only on the canonical name.
func Addr6(name string) netip.Addr {
	sum := sha256.Sum256([]byte(CanonicalName(name)))
	a := AnswerPrefix6.Addr().As16()
	copy(a[4:], sum[:12])
	return netip.AddrFrom16(a)
}

func preferredSlot(name string) int {
	h := fnv.New64a()
	h.Write([]byte(CanonicalName(name)))
	return int(h.Sum64() % slots4)
}

func slotAddr4(slot int) netip.Addr {
	a := AnswerPrefix4.Addr().As4()
	a[3] = byte(slot + 1)
	return netip.AddrFrom4(a)
}

// Names hands out answer addresses for one run and remembers which name got which address,
// so a later connection can be attributed to the name that was resolved. A name keeps its
// preferred IPv4 address unless an earlier name of the run took it; then it takes the next
// free one, so up to 254 names are told apart. Safe for concurrent use.
type Names struct {
	// IPv6 makes AAAA queries answer; without a route for it they get an empty answer.
	IPv6 bool

	mu     sync.Mutex
	byName map[string]netip.Addr
	byAddr map[netip.Addr]string
}

// NewNames returns an empty mapping.
func NewNames(ipv6 bool) *Names {
	return &Names{IPv6: ipv6, byName: map[string]netip.Addr{}, byAddr: map[netip.Addr]string{}}
}

// Addr4 returns the IPv4 answer for name, allocating one on first use.
func (n *Names) Addr4(name string) netip.Addr {
	name = CanonicalName(name)
	n.mu.Lock()
	defer n.mu.Unlock()
	if a, ok := n.byName[name]; ok {
		return a
	}
	first := preferredSlot(name)
	if len(n.byName) >= MaxNames {
		return slotAddr4(first)
	}
	a := slotAddr4(first)
	for i := range slots4 {
		c := slotAddr4((first + i) % slots4)
		if _, taken := n.byAddr[c]; !taken {
			a = c
			break
		}
	}
	// When every slot is taken the preferred one is shared and the latest name wins.
	n.byName[name] = a
	n.byAddr[a] = name
	return a
}

// addr6 returns the IPv6 answer for name and remembers it.
func (n *Names) addr6(name string) netip.Addr {
	name = CanonicalName(name)
	a := Addr6(name)
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.byAddr) < 2*MaxNames {
		n.byAddr[a] = name
	}
	return a
}

// Name returns the name that was answered with addr, if any.
func (n *Names) Name(addr netip.Addr) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	name, ok := n.byAddr[addr.Unmap()]
	return name, ok
}

// Answer builds the reply to a query. Every name exists: A (and AAAA when IPv6 is on) are
// answered from the run's mapping, PTR for an address it handed out gives the name, every
// other type gets an empty NOERROR answer. NXDOMAIN is never sent, so a guest never takes a
// "domain gone" code path the real network would not have shown it.
func (n *Names) Answer(req *dns.Msg) *dns.Msg {
	resp := new(dns.Msg)
	switch {
	case req.Response:
		return nil // never answer an answer: no loops
	case req.Opcode != dns.OpcodeQuery:
		resp.SetRcode(req, dns.RcodeNotImplemented)
		return resp
	case len(req.Question) != 1:
		resp.SetRcodeFormatError(req)
		return resp
	}
	resp.SetReply(req)
	resp.Authoritative = true
	resp.RecursionAvailable = true
	if req.IsEdns0() != nil {
		resp.SetEdns0(ednsUDPSize, false)
	}
	q := req.Question[0]
	if q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY {
		return resp
	}
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: q.Name, Rrtype: t, Class: dns.ClassINET, Ttl: answerTTL}
	}
	if q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY {
		resp.Answer = append(resp.Answer, &dns.A{Hdr: hdr(dns.TypeA), A: n.Addr4(q.Name).AsSlice()})
	}
	if n.IPv6 && (q.Qtype == dns.TypeAAAA || q.Qtype == dns.TypeANY) {
		resp.Answer = append(resp.Answer, &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: n.addr6(q.Name).AsSlice()})
	}
	if q.Qtype == dns.TypePTR {
		if a, ok := reverseAddr(q.Name); ok {
			if name, ok := n.Name(a); ok {
				resp.Answer = append(resp.Answer, &dns.PTR{Hdr: hdr(dns.TypePTR), Ptr: dns.Fqdn(name)})
			}
		}
	}
	return resp
}

// reverseAddr parses an in-addr.arpa or ip6.arpa name.
func reverseAddr(name string) (netip.Addr, bool) {
	name = CanonicalName(name)
	if s, ok := strings.CutSuffix(name, ".in-addr.arpa"); ok {
		p := strings.Split(s, ".")
		if len(p) != 4 {
			return netip.Addr{}, false
		}
		var b [4]byte
		for i, x := range p {
			v, err := strconv.ParseUint(x, 10, 8)
			if err != nil {
				return netip.Addr{}, false
			}
			b[3-i] = byte(v)
		}
		return netip.AddrFrom4(b), true
	}
	if s, ok := strings.CutSuffix(name, ".ip6.arpa"); ok {
		p := strings.Split(s, ".")
		if len(p) != 32 {
			return netip.Addr{}, false
		}
		var b [16]byte
		for i, x := range p {
			v, err := strconv.ParseUint(x, 16, 4)
			if err != nil || len(x) != 1 {
				return netip.Addr{}, false
			}
			nib := 31 - i
			b[nib/2] |= byte(v) << (4 * (1 - nib%2))
		}
		return netip.AddrFrom16(b), true
	}
	return netip.Addr{}, false
}

// QTypeString names a query type the way the events record it ("A", "TYPE65534").
func QTypeString(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// dnsQuery is what one DNS message asked, for the event.
type dnsQuery struct {
	name  string
	qtype string
}

// serveDNS parses one DNS message and returns the packed reply (nil if none is due) and what
// was asked. Over UDP the reply is truncated to 512 bytes, or the EDNS size up to 1232.
func (n *Names) serveDNS(msg []byte, udp bool) ([]byte, *dnsQuery) {
	req := new(dns.Msg)
	if err := req.Unpack(msg); err != nil {
		// A header we can read still gets FORMERR so the client does not hang.
		if len(msg) < 12 || msg[2]&0x80 != 0 {
			return nil, nil
		}
		resp := new(dns.Msg)
		resp.Id = binary.BigEndian.Uint16(msg)
		resp.Response = true
		resp.Rcode = dns.RcodeFormatError
		out, _ := resp.Pack()
		return out, nil
	}
	var q *dnsQuery
	if len(req.Question) > 0 {
		q = &dnsQuery{name: CanonicalName(req.Question[0].Name), qtype: QTypeString(req.Question[0].Qtype)}
	}
	resp := n.Answer(req)
	if resp == nil {
		return nil, q
	}
	if udp {
		size := dns.MinMsgSize
		if o := req.IsEdns0(); o != nil {
			size = max(int(min(o.UDPSize(), ednsUDPSize)), dns.MinMsgSize)
		}
		resp.Truncate(size)
	}
	out, err := resp.Pack()
	if err != nil {
		return nil, q
	}
	return out, q
}
